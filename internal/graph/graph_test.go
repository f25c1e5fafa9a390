package graph_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/graph"
	"github.com/pave-dev/pave/internal/manifest"
)

func sample() []graph.Function {
	return []graph.Function{
		{Name: "orders", Owner: "shop", Routes: []manifest.Route{{Method: "POST", Path: "/orders"}, {Method: "GET", Path: "/status", Public: true}},
			Capabilities: manifest.Capabilities{Invoke: []string{"billing", "gone"}, Publish: []string{"orders.created"}}},
		{Name: "billing", Owner: "shop"},
	}
}

func TestBuild(t *testing.T) {
	g := graph.Build(sample())
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+" -"+e.Kind+"-> "+e.To)
	}
	want := []string{
		"function:orders -invoke-> function:billing",
		"function:orders -invoke-> function:gone",
		"function:orders -publish-> topic:orders.created",
		"route:GET /status -route-> function:orders",
		"route:POST /orders -route-> function:orders",
	}
	if strings.Join(edges, "\n") != strings.Join(want, "\n") {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(edges, "\n"), strings.Join(want, "\n"))
	}
	byID := map[string]graph.Node{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	if !byID["function:billing"].Internal || byID["function:orders"].Internal {
		t.Error("billing, with no route, is internal; orders is not")
	}
	if !byID["function:gone"].Missing || byID["function:billing"].Missing {
		t.Error("gone is named but not deployed")
	}
	if !byID["route:GET /status"].Public || byID["route:POST /orders"].Public {
		t.Error("only GET /status is public")
	}
	if len(graph.Build(nil).Edges) != 0 {
		t.Error("no functions, no edges")
	}
}

func TestWriters(t *testing.T) {
	g := graph.Build(sample())
	var js bytes.Buffer
	if err := graph.WriteJSON(&js, g); err != nil {
		t.Fatal(err)
	}
	var back graph.Graph
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Edges) != len(g.Edges) || len(back.Nodes) != len(g.Nodes) {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
	var dot bytes.Buffer
	if err := graph.WriteDOT(&dot, g); err != nil {
		t.Fatal(err)
	}
	out := dot.String()
	for _, want := range []string{"digraph pave {", `"function:orders" -> "function:billing" [label="invoke"];`, `"topic:orders.created" [label="orders.created", shape=diamond];`, `style=dashed`, `color=red`} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %q:\n%s", want, out)
		}
	}
	// A name with a quote cannot break out of its DOT string.
	var evil bytes.Buffer
	_ = graph.WriteDOT(&evil, graph.Build([]graph.Function{{Name: "x", Capabilities: manifest.Capabilities{Publish: []string{`a"];evil[`}}}}))
	if strings.Contains(evil.String(), `a"];evil[`) {
		t.Errorf("unescaped quote:\n%s", evil.String())
	}
}

func Example() {
	g := graph.Build([]graph.Function{
		{Name: "orders", Routes: []manifest.Route{{Method: "POST", Path: "/orders"}}, Capabilities: manifest.Capabilities{Invoke: []string{"billing"}}},
		{Name: "billing"},
	})
	_ = graph.WriteDOT(os.Stdout, g)
	// Output:
	// digraph pave {
	//   rankdir=LR;
	//   "function:billing" [label="billing", shape=ellipse, style=filled, fillcolor=lightgrey];
	//   "function:orders" [label="orders", shape=ellipse];
	//   "route:POST /orders" [label="POST /orders", shape=box];
	//   "function:orders" -> "function:billing" [label="invoke"];
	//   "route:POST /orders" -> "function:orders" [label="route"];
	// }
}
