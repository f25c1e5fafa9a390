package daemon

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/members"
	"github.com/pave-dev/pave/internal/store"
	"github.com/pave-dev/pave/internal/version"
)

// describe is what this node writes in its heartbeat, with the ids of the
// keys it holds.
func (d *Daemon) describe(vault *secretVault) members.Node {
	host, _ := os.Hostname()
	n := members.Node{
		ID: d.nodeID, Host: host, GatewayURL: d.GatewayURL(), AdminURL: d.AdminURL(),
		Version: version.String(), StartedAt: d.started, Load: members.LoadAverage(), Modules: d.engine.Loaded(),
	}
	if vault != nil {
		n.MasterKeyID, n.NextMasterKeyID = vault.keyIDs()
	}
	if d.audit != nil {
		n.AuditKeyID, n.NextAuditKeyID = d.audit.keyIDs()
	}
	return n
}

// followLeadership keeps d.leads, and the count of live nodes the limits
// are split across, current with the nodes' heartbeats until ctx ends.
// While the list cannot be read, the node keeps what it last knew; at
// start it leads, so that a node alone fires its schedules at once, and
// counts the nodes at once, so that a node joining a cluster does not
// admit a whole limit until its first heartbeat interval is over.
func (d *Daemon) followLeadership(ctx context.Context, rec *store.KV) {
	if nodes, err := members.List(ctx, rec); err == nil {
		d.countNodes(nodes)
	}
	every(ctx, members.Interval, func() {
		nodes, err := members.List(ctx, rec)
		if err != nil {
			return
		}
		d.countNodes(nodes)
		if lead := members.Leads(nodes, d.nodeID); d.leads.Swap(lead) != lead {
			d.log.Info("schedules", "fired_here", lead, "nodes", len(nodes))
		}
	})
}

// countNodes sets the count of live nodes the limits are split across:
// the nodes listed, this one included even before its own heartbeat is.
func (d *Daemon) countNodes(nodes []members.Node) {
	if d.nodes == nil {
		return
	}
	n := len(nodes)
	if !slices.ContainsFunc(nodes, func(m members.Node) bool { return m.ID == d.nodeID }) {
		n++
	}
	if old := d.nodes.Count(); old != n {
		d.nodes.Set(n)
		d.log.Info("limits split across nodes", "nodes", n, "before", old)
	}
}

// ownerSlots are the per-owner concurrency slots, split across the live
// nodes on a shared store.
func (d *Daemon) ownerSlots() *limits.OwnerSlots {
	o := limits.NewOwnerSlots(d.cfg.Defenses.OwnerConcurrency)
	o.Nodes = d.nodes
	return o
}

// nodeList lists the nodes from their heartbeats, for the admin API.
type nodeList struct{ rec *store.KV }

func (n nodeList) Nodes(ctx context.Context) ([]members.Node, error) { return members.List(ctx, n.rec) }

// lackingNodes returns the live nodes other than self that do not hold a
// key, as holds reads their heartbeats: what a key rotation checks before
// it begins, since such a node would fail closed once it began. A node
// given the key since its last heartbeat says so at its next one, so for
// a node that lacks it the check waits for one heartbeat more (a
// heartbeat interval at most) before counting it.
func lackingNodes(ctx context.Context, nodes adminapi.Nodes, self string, holds func(members.Node) bool) ([]members.Node, error) {
	deadline := time.Now().Add(members.Interval + 2*time.Second)
	first := map[string]time.Time{} // the heartbeat each lacking node was first seen with
	for {
		list, err := nodes.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		var lacking []members.Node
		waiting := false
		for _, n := range list {
			if n.ID == self || holds(n) {
				continue
			}
			lacking = append(lacking, n)
			if seen, ok := first[n.ID]; !ok {
				first[n.ID] = n.Heartbeat
				waiting = true
			} else if seen.Equal(n.Heartbeat) {
				waiting = true
			}
		}
		if len(lacking) == 0 || !waiting || time.Now().After(deadline) {
			return lacking, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
