package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/graph"
)

// TestGraphOffline checks that the graph of the manifests under a
// directory has their triggers' edges.
func TestGraphOffline(t *testing.T) {
	dir := writeManifests(t, map[string]string{
		"orders": "name: orders\nowner: shop\nroutes:\n  - method: POST\n    path: /orders\ncapabilities:\n  publish: [orders.created]\n",
		"billing": "name: billing\nowner: shop\ntriggers:\n  - topic: orders.created\n" +
			"  - schedule: \"*/5   * * * *\"\n  - schedule: \"@daily\"\n    timezone: Europe/Paris\n",
	})
	env := noDaemon(t)

	stdout, stderr, code := runPave(t, env, "", "graph", "--offline", dir, "--format", "json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var g graph.Graph
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatalf("not the graph's JSON: %v\n%s", err, stdout)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+" -"+e.Kind+"-> "+e.To)
	}
	want := []string{
		"function:orders -publish-> topic:orders.created",
		"route:POST /orders -route-> function:orders",
		`schedule:"*/5 * * * *" UTC -schedule-> function:billing`,
		`schedule:"@daily" Europe/Paris -schedule-> function:billing`,
		"topic:orders.created -trigger-> function:billing",
	}
	if !slices.Equal(edges, want) {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(edges, "\n"), strings.Join(want, "\n"))
	}

	stdout, stderr, code = runPave(t, env, "", "graph", "--offline", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("DOT: exit %d, stderr %s", code, stderr)
	}
	for _, line := range []string{
		`  "schedule:\"*/5 * * * *\" UTC" [label="\"*/5 * * * *\" UTC", shape=hexagon];`,
		`  "topic:orders.created" -> "function:billing" [label="trigger"];`,
		`  "schedule:\"@daily\" Europe/Paris" -> "function:billing" [label="schedule"];`,
	} {
		if !slices.Contains(strings.Split(stdout, "\n"), line) {
			t.Errorf("DOT lacks the line\n%s\nin\n%s", line, stdout)
		}
	}
}
