// Package members keeps the list of the pave nodes that share a store.
//
// Each node writes a record about itself to the key-value bucket
// pave_nodes every Interval: its id, host, URLs, version, start time and
// load. The bucket drops a record TTL after its last write, so a node that
// stops (or loses the store) drops out of the list within TTL, with no one
// having to notice it; a node that comes back writes its record again under
// the same id, which it keeps in its data directory.
//
// The list is read from the bucket when asked for (List): a cluster has
// few nodes, and nothing on the request path reads it.
package members

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// Bucket is the bucket of the nodes' records.
const Bucket = "pave_nodes"

// Heartbeats: a record is written every Interval and dropped TTL after the
// last write, so a node is listed until three heartbeats in a row are lost.
const (
	Interval = 5 * time.Second
	TTL      = 3 * Interval
)

// Node is what a node says about itself.
type Node struct {
	ID         string    `json:"id"`
	Host       string    `json:"host"`
	GatewayURL string    `json:"gateway_url"`
	AdminURL   string    `json:"admin_url"`
	Version    string    `json:"version"`
	StartedAt  time.Time `json:"started_at"`
	Heartbeat  time.Time `json:"heartbeat"`
	// Load is the host's load average over the last minute, where the
	// system reports one (Linux); -1 where it does not.
	Load float64 `json:"load"`
	// Modules is how many modules the node holds compiled.
	Modules int `json:"modules"`
	// MasterKeyID, NextMasterKeyID, AuditKeyID and NextAuditKeyID are the
	// ids of the keys the node holds, never the keys: the master key it
	// seals secrets with, the next master key of a rotation once it has
	// been given one, the audit key, and the next audit key likewise. A
	// rotation begins only once every node listed holds the next key
	// (HoldsMasterKey, HoldsAuditKey).
	MasterKeyID     string `json:"master_key_id,omitempty"`
	NextMasterKeyID string `json:"next_master_key_id,omitempty"`
	AuditKeyID      string `json:"audit_key_id,omitempty"`
	NextAuditKeyID  string `json:"next_audit_key_id,omitempty"`
}

// HoldsAuditKey reports whether the node said, at its last heartbeat,
// that it holds the audit key id, as its key or as the next one.
func (n Node) HoldsAuditKey(id string) bool {
	return id != "" && (n.AuditKeyID == id || n.NextAuditKeyID == id)
}

// HoldsMasterKey reports whether the node said, at its last heartbeat,
// that it holds the master key id, as its key or as the next one.
func (n Node) HoldsMasterKey(id string) bool {
	return id != "" && (n.MasterKeyID == id || n.NextMasterKeyID == id)
}

// Records is the bucket; *store.KV provides it.
type Records interface {
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Get(ctx context.Context, key string) (store.Entry, error)
	Keys(ctx context.Context, prefix string, limit int) ([]string, bool, error)
}

// NodeID returns the node's id, kept in dir/node.id: made on first use,
// the same on every later start.
func NodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node.id")
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if validID(id) {
			return id, nil
		}
		return "", fmt.Errorf("%s: not a node id", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// Beat writes the node's record every Interval until ctx ends. self
// describes the node at each beat; a failed write is logged and tried
// again at the next.
func Beat(ctx context.Context, rec Records, self func() Node, log *slog.Logger) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	failing := false
	for {
		err := put(ctx, rec, self())
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("node heartbeat not written; other nodes will drop this one from their list if it goes on", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("node heartbeat written again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// put writes n's record, stamped now.
func put(ctx context.Context, rec Records, n Node) error {
	n.Heartbeat = time.Now().UTC()
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, Interval)
	defer cancel()
	_, err = rec.Put(wctx, n.ID, b)
	return err
}

// maxNodes bounds the records List reads.
const maxNodes = 1000

// List returns the nodes that wrote a heartbeat within TTL, by host and
// id.
func List(ctx context.Context, rec Records) ([]Node, error) {
	keys, _, err := rec.Keys(ctx, "", maxNodes)
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	nodes := make([]Node, 0, len(keys))
	for _, k := range keys {
		e, err := rec.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // dropped since Keys
		}
		if err != nil {
			return nil, fmt.Errorf("reading node %s: %w", k, err)
		}
		var n Node
		if err := json.Unmarshal(e.Value, &n); err != nil || n.ID != k {
			continue // not a record of this version: not listed
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b Node) int {
		return strings.Compare(a.Host+"\x00"+a.ID, b.Host+"\x00"+b.ID)
	})
	return nodes, nil
}

// LoadAverage is the host's load average over the last minute, or -1
// where the system does not report it.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscanf(string(b), "%f", &l); err != nil {
		return -1
	}
	return l
}

// Leads reports whether the node self leads among nodes: whether it has
// the lowest id of them and itself, so that every node that sees the same
// list picks the same leader, and a node that has not seen itself listed
// yet still counts. Nodes use it for work one of them does for all, such as
// firing schedules.
func Leads(nodes []Node, self string) bool {
	for _, n := range nodes {
		if n.ID < self {
			return false
		}
	}
	return true
}
