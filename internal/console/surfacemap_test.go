package console

import (
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/graph"
	"github.com/pave-dev/pave/internal/manifest"
)

// TestMap draws the fixture's function: a public route, a keyed one, a
// secret and an outbound host, both reached from the public route.
func TestMap(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	p := b.get("/ui/map")
	if p.status != 200 {
		t.Fatalf("map = %d %s", p.status, p.body)
	}
	for _, want := range []string{
		"<svg", ">PUBLIC GET /hello<", ">api-key POST /orders<", ">DB_URL<", ">api.example.com<",
		`href="/ui/functions/hello"`, `class="edge secret exposed"`, `class="edge http exposed"`, `class="edge route exposed"`,
		"<strong class=\"danger\">3</strong> edges on a path", `<option value="team-a">team-a</option>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the map does not show %q", want)
		}
	}
	if strings.Contains(p.body, `class="edge route exposed"><title>route:POST`) {
		t.Error("the keyed route is on no public path")
	}
	if p := b.get("/ui/map?owner=nobody"); !strings.Contains(p.body, "Nothing is deployed for owner nobody") {
		t.Errorf("another owner's map: %s", p.body)
	}
}

// TestLayoutMap checks the columns and the owner filter on a table of
// graphs.
func TestLayoutMap(t *testing.T) {
	fns := []graph.Function{
		{Name: "a", Owner: "x", Routes: []manifest.Route{{Method: "GET", Path: "/a", Public: true}},
			Capabilities: manifest.Capabilities{Invoke: []string{"b"}, Publish: []string{"out"}}},
		{Name: "b", Owner: "y", Capabilities: manifest.Capabilities{Secrets: []string{"s"}}},
		{Name: "c", Owner: "y", Triggers: []manifest.Trigger{{Topic: "in"}}, Capabilities: manifest.Capabilities{KV: map[string]string{"k": "read"}}},
	}
	g := graph.Surface(fns)
	edges, nodes := graph.Exposed(g)
	for _, tc := range []struct {
		owner   string
		cols    map[string]int // node id to its column
		absent  []string
		exposed int
	}{
		{"", map[string]int{"route:GET /a": 0, "topic:in": 0, "function:a": 1, "function:b": 1, "function:c": 1,
			"topic:out": 2, "secret:s": 2, "bucket:k": 2}, nil, 3},
		{"x", map[string]int{"route:GET /a": 0, "function:a": 1, "function:b": 1, "topic:out": 2}, []string{"secret:s", "function:c"}, 2},
		{"y", map[string]int{"function:a": 1, "function:b": 1, "function:c": 1, "secret:s": 2, "topic:in": 0}, []string{"route:GET /a", "topic:out"}, 2},
	} {
		d := layoutMap(g, edges, nodes, tc.owner)
		got := map[string]int{}
		for _, n := range d.Nodes {
			got[n.ID] = n.col
		}
		for id, col := range tc.cols {
			if c, ok := got[id]; !ok || c != col {
				t.Errorf("owner %q: %s in column %d (shown %v), want %d", tc.owner, id, c, ok, col)
			}
		}
		for _, id := range tc.absent {
			if _, ok := got[id]; ok {
				t.Errorf("owner %q: %s shown", tc.owner, id)
			}
		}
		if d.Exposed != tc.exposed {
			t.Errorf("owner %q: %d exposed edges, want %d", tc.owner, d.Exposed, tc.exposed)
		}
	}
}
