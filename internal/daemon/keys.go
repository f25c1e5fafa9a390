package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/pave-dev/pave/internal/store"
)

// The key set. Every node of a cluster seals with one master key and one
// audit key, given to each node as a file (or, for the master key, the
// environment), never through the store. The store records only their
// ids, in the settings bucket, so that a node holding other keys refuses
// to start instead of sealing what the others cannot open, and a node
// without a key never makes one of its own once the store records one.
const (
	// settingMasterKey is the master key's id, or "old>new" while a
	// rotation from old to new goes on.
	settingMasterKey = "secrets_master_key_id"
	// settingAuditKey is the audit key's id.
	settingAuditKey = "audit_key_id"
)

// keyState is the recorded state of the master key.
type keyState struct {
	current, next string // next is set while a rotation goes on
	rev           uint64
}

func parseKeyState(v string, rev uint64) keyState {
	cur, next, _ := strings.Cut(v, ">")
	return keyState{current: cur, next: next, rev: rev}
}

func (s keyState) String() string {
	if s.next != "" {
		return s.current + ">" + s.next
	}
	return s.current
}

// readKeyState returns the recorded state, the zero keyState if none.
func readKeyState(ctx context.Context, settings *store.KV) (keyState, error) {
	e, err := settings.Get(ctx, settingMasterKey)
	if errors.Is(err, store.ErrNotFound) {
		return keyState{}, nil
	}
	if err != nil {
		return keyState{}, fmt.Errorf("reading the master key's id: %w", err)
	}
	return parseKeyState(string(e.Value), e.Revision), nil
}

// claimKeyID records id under setting if no id is recorded there, and
// returns the recorded id: id itself, or another node's.
func claimKeyID(ctx context.Context, settings *store.KV, setting, id string) (string, error) {
	for range 3 {
		e, err := settings.Get(ctx, setting)
		if err == nil {
			return string(e.Value), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("reading %s: %w", setting, err)
		}
		_, err = settings.Create(ctx, setting, []byte(id))
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("recording %s: %w", setting, err)
		}
	}
	return "", fmt.Errorf("recording %s: %w", setting, store.ErrConflict)
}

// fileExists reports whether anything is at path.
func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// sealedBy returns the id of the master key that wraps the newest version
// of the first stored secret, "" if none is stored: what a store keeps from
// before the ids were recorded.
func sealedBy(ctx context.Context, records secretRecords) (string, error) {
	keys, err := records.Keys(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		e, err := records.Get(ctx, k)
		if err != nil {
			continue
		}
		var rec struct {
			Versions []struct {
				MasterID string `json:"master_id"`
			} `json:"versions"`
		}
		if json.Unmarshal(e.Value, &rec) == nil && len(rec.Versions) > 0 {
			return rec.Versions[len(rec.Versions)-1].MasterID, nil
		}
	}
	return "", nil
}

// logCreated logs that the node made a key in file. On an external store
// it warns that every other node needs a copy, given with flag: none of
// them makes one of its own.
func (d *Daemon) logCreated(msg, file, flag string) {
	if d.nats.Embedded() {
		d.log.Info(msg, "file", file)
		return
	}
	d.log.Warn(msg, "file", file, "other_nodes", "every other node of this store needs a copy of this key, given with "+flag+"; none of them makes one of its own")
}
