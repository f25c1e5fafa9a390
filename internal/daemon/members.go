package daemon

import (
	"context"
	"os"

	"github.com/pave-dev/pave/internal/members"
	"github.com/pave-dev/pave/internal/store"
	"github.com/pave-dev/pave/internal/version"
)

// describe is what this node writes in its heartbeat.
func (d *Daemon) describe() members.Node {
	host, _ := os.Hostname()
	return members.Node{
		ID: d.nodeID, Host: host, GatewayURL: d.GatewayURL(), AdminURL: d.AdminURL(),
		Version: version.String(), StartedAt: d.started, Load: members.LoadAverage(), Modules: d.engine.Loaded(),
	}
}

// followLeadership keeps d.leads current with the nodes' heartbeats until
// ctx ends. While the list cannot be read, the node keeps what it last
// knew; at start it leads, so that a node alone fires its schedules at
// once.
func (d *Daemon) followLeadership(ctx context.Context, rec *store.KV) {
	every(ctx, members.Interval, func() {
		nodes, err := members.List(ctx, rec)
		if err != nil {
			return
		}
		if lead := members.Leads(nodes, d.nodeID); d.leads.Swap(lead) != lead {
			d.log.Info("schedules", "fired_here", lead, "nodes", len(nodes))
		}
	})
}

// nodeList lists the nodes from their heartbeats, for the admin API.
type nodeList struct{ rec *store.KV }

func (n nodeList) Nodes(ctx context.Context) ([]members.Node, error) { return members.List(ctx, n.rec) }
