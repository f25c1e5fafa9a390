package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/pave-dev/pave/client"
)

var nodesCommand = &command{
	name:    "nodes",
	summary: "list the pave nodes sharing the daemon's store",
	help: `
Lists the pave nodes that share the daemon's store, from the heartbeat each
writes every 5 seconds: host, id, admin URL, version, uptime, the host's
load average over the last minute, modules held compiled, when its last
heartbeat came, and the ids (never the keys) of the master key it holds, of
the next master key of a rotation if it has been given one, and of its
audit key. A node that stops heartbeating is dropped from the list within
15 seconds.`,
	run: runNodes,
}

func runNodes(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.Node]{
		fetch: (*client.Client).ListNodes,
		wire:  func(nodes []client.Node) any { return client.NodeList{Nodes: nodes} },
		none:  "no nodes have sent a heartbeat",
		table: func(inv *invocation, nodes []client.Node) error {
			tw := newTable(inv.stdout)
			fmt.Fprintln(tw, "HOST\tID\tADMIN\tVERSION\tUP\tLOAD\tMODULES\tLAST SEEN\tMASTER KEY\tNEXT KEY\tAUDIT KEY\tNEXT AUDIT KEY")
			now := time.Now()
			orDash := func(s string) string {
				if s == "" {
					return "-"
				}
				return s
			}
			for _, n := range nodes {
				load := "-"
				if n.Load >= 0 {
					load = fmt.Sprintf("%.2f", n.Load)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s ago\t%s\t%s\t%s\t%s\n", n.Host, n.ID, n.AdminURL, n.Version,
					now.Sub(n.StartedAt).Round(time.Second), load, n.Modules, now.Sub(n.Heartbeat).Round(time.Second),
					orDash(n.MasterKeyID), orDash(n.NextMasterKeyID), orDash(n.AuditKeyID), orDash(n.NextAuditKeyID))
			}
			return tw.Flush()
		},
	})
}
