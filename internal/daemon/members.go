package daemon

import (
	"context"
	"os"
	"slices"

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
		n.AuditKeyID = d.audit.keyID
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
