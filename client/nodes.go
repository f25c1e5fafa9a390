package client

import (
	"context"
	"net/http"
	"time"
)

// Node is a pave node sharing the daemon's store, as its last heartbeat
// describes it.
type Node struct {
	ID         string    `json:"id"`
	Host       string    `json:"host"`
	GatewayURL string    `json:"gateway_url"`
	AdminURL   string    `json:"admin_url"`
	Version    string    `json:"version"`
	StartedAt  time.Time `json:"started_at"`
	Heartbeat  time.Time `json:"heartbeat"`
	// Load is the host's load average over the last minute; -1 where the
	// system does not report one.
	Load float64 `json:"load"`
	// Modules is how many modules the node holds compiled.
	Modules int `json:"modules"`
	// MasterKeyID, NextMasterKeyID, AuditKeyID and NextAuditKeyID are the
	// ids of the keys the node holds (never the keys): its master key, the
	// next master key of a rotation once it has been given one, its audit
	// key, and the next audit key likewise.
	MasterKeyID     string `json:"master_key_id,omitempty"`
	NextMasterKeyID string `json:"next_master_key_id,omitempty"`
	AuditKeyID      string `json:"audit_key_id,omitempty"`
	NextAuditKeyID  string `json:"next_audit_key_id,omitempty"`
}

// NodeList is the body of GET /v1/nodes.
type NodeList struct {
	Nodes []Node `json:"nodes"`
}

// ListNodes returns the nodes that sent a heartbeat recently.
func (c *Client) ListNodes(ctx context.Context) ([]Node, error) {
	var list NodeList
	if err := c.do(ctx, http.MethodGet, "/v1/nodes", nil, &list); err != nil {
		return nil, err
	}
	return list.Nodes, nil
}
