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

// nodeList lists the nodes from their heartbeats, for the admin API.
type nodeList struct{ rec *store.KV }

func (n nodeList) Nodes(ctx context.Context) ([]members.Node, error) { return members.List(ctx, n.rec) }
