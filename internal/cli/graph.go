package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pave-dev/pave/internal/graph"
	"github.com/pave-dev/pave/internal/manifest"
)

var graphCommand = &command{
	name:    "graph",
	summary: "print which routes, schedules, functions and topics calls may flow between",
	help: `
Prints the flow graph derived from the deployed manifests: each route to its
function, each function to the functions its manifest lets it invoke, and to
the topics it may publish to, and each topic and schedule to the functions
its triggers run. These are the only edges a call can take; pave refuses,
and audits, any other. Functions without routes are internal; a function
named by an invoke grant but not deployed is marked. A topic may also be
published to over HTTP by API keys with the scope publish:TOPIC, which the
graph does not show.

--format is dot (default; render with Graphviz: pave graph | dot -Tsvg) or
json. --offline DIR derives the graph from the pave.yaml files under DIR
instead of a daemon.`,
	run: runGraph,
}

func runGraph(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	formatOf := inv.formatFlag("dot", formatJSON)
	offline := inv.fs.String("offline", "", "derive the graph from the manifests under `DIR`")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	f, err := formatOf()
	if err != nil {
		return err
	}
	format := &f
	if *offline == "" {
		c, err := inv.client(*dataDir)
		if err != nil {
			return err
		}
		b, err := c.Graph(ctx, *format)
		if err != nil {
			return err
		}
		_, err = inv.stdout.Write(b)
		return err
	}
	fns, err := manifestsUnder(*offline)
	if err != nil {
		return err
	}
	g := graph.Build(fns)
	if *format == "json" {
		return graph.WriteJSON(inv.stdout, g)
	}
	return graph.WriteDOT(inv.stdout, g)
}

// manifestsUnder parses every pave.yaml under dir.
func manifestsUnder(dir string) ([]graph.Function, error) {
	var fns []graph.Function
	var problems []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != manifestName {
			return nil
		}
		m, err := manifest.ParseFile(path)
		if err != nil {
			problems = append(problems, err)
			return nil
		}
		fns = append(fns, graph.Function{Name: m.Name, Owner: m.Owner, Routes: m.Routes, Capabilities: m.Capabilities, Triggers: m.Triggers})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("no %s under %s", manifestName, dir)
	}
	return fns, nil
}
