package graph_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
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

// TestTriggerEdges checks the edges of topic and schedule triggers, in both
// writers' output.
func TestTriggerEdges(t *testing.T) {
	every5 := manifest.Trigger{Schedule: "*/5 * * * *", Timezone: "UTC", Missed: manifest.MissedSkip}
	dailyParis := manifest.Trigger{Schedule: "@daily", Timezone: "Europe/Paris", Missed: manifest.MissedRunOnce}
	tests := []struct {
		name string
		fns  []graph.Function
		// wantDOT and wantJSON are the writers' whole output.
		wantDOT  string
		wantJSON string
		// wantPath, if set, is a path of edges the graph must have, from
		// its first node to its last.
		wantPath []string
	}{
		{
			name: "topic trigger",
			fns: []graph.Function{
				{Name: "audit", Owner: "shop", Triggers: []manifest.Trigger{{Topic: "orders.created"}}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:audit" [label="audit", shape=ellipse, style=filled, fillcolor=lightgrey];
  "topic:orders.created" [label="orders.created", shape=diamond];
  "topic:orders.created" -> "function:audit" [label="trigger"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:audit", "kind": "function", "name": "audit", "owner": "shop", "internal": true},
    {"id": "topic:orders.created", "kind": "topic", "name": "orders.created"}
  ],
  "edges": [
    {"from": "topic:orders.created", "to": "function:audit", "kind": "trigger"}
  ]
}`,
		},
		{
			name: "schedule trigger",
			fns: []graph.Function{
				{Name: "report", Owner: "ops", Triggers: []manifest.Trigger{every5}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:report" [label="report", shape=ellipse, style=filled, fillcolor=lightgrey];
  "schedule:\"*/5 * * * *\" UTC" [label="\"*/5 * * * *\" UTC", shape=hexagon];
  "schedule:\"*/5 * * * *\" UTC" -> "function:report" [label="schedule"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:report", "kind": "function", "name": "report", "owner": "ops", "internal": true},
    {"id": "schedule:\"*/5 * * * *\" UTC", "kind": "schedule", "name": "\"*/5 * * * *\" UTC"}
  ],
  "edges": [
    {"from": "schedule:\"*/5 * * * *\" UTC", "to": "function:report", "kind": "schedule"}
  ]
}`,
		},
		{
			name: "a schedule is shared in its zone only",
			fns: []graph.Function{
				{Name: "a", Triggers: []manifest.Trigger{dailyParis}},
				{Name: "b", Triggers: []manifest.Trigger{dailyParis, {Schedule: "@daily", Timezone: "UTC"}}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:a" [label="a", shape=ellipse, style=filled, fillcolor=lightgrey];
  "function:b" [label="b", shape=ellipse, style=filled, fillcolor=lightgrey];
  "schedule:\"@daily\" Europe/Paris" [label="\"@daily\" Europe/Paris", shape=hexagon];
  "schedule:\"@daily\" UTC" [label="\"@daily\" UTC", shape=hexagon];
  "schedule:\"@daily\" Europe/Paris" -> "function:a" [label="schedule"];
  "schedule:\"@daily\" Europe/Paris" -> "function:b" [label="schedule"];
  "schedule:\"@daily\" UTC" -> "function:b" [label="schedule"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:a", "kind": "function", "name": "a", "internal": true},
    {"id": "function:b", "kind": "function", "name": "b", "internal": true},
    {"id": "schedule:\"@daily\" Europe/Paris", "kind": "schedule", "name": "\"@daily\" Europe/Paris"},
    {"id": "schedule:\"@daily\" UTC", "kind": "schedule", "name": "\"@daily\" UTC"}
  ],
  "edges": [
    {"from": "schedule:\"@daily\" Europe/Paris", "to": "function:a", "kind": "schedule"},
    {"from": "schedule:\"@daily\" Europe/Paris", "to": "function:b", "kind": "schedule"},
    {"from": "schedule:\"@daily\" UTC", "to": "function:b", "kind": "schedule"}
  ]
}`,
		},
		{
			name: "a publish grant feeds another function's topic trigger",
			fns: []graph.Function{
				{Name: "orders", Owner: "shop", Routes: []manifest.Route{{Method: "POST", Path: "/orders"}},
					Capabilities: manifest.Capabilities{Publish: []string{"orders.created"}}},
				{Name: "billing", Owner: "shop", Triggers: []manifest.Trigger{{Topic: "orders.created"}, every5}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:billing" [label="billing", shape=ellipse, style=filled, fillcolor=lightgrey];
  "function:orders" [label="orders", shape=ellipse];
  "route:POST /orders" [label="POST /orders", shape=box];
  "schedule:\"*/5 * * * *\" UTC" [label="\"*/5 * * * *\" UTC", shape=hexagon];
  "topic:orders.created" [label="orders.created", shape=diamond];
  "function:orders" -> "topic:orders.created" [label="publish"];
  "route:POST /orders" -> "function:orders" [label="route"];
  "schedule:\"*/5 * * * *\" UTC" -> "function:billing" [label="schedule"];
  "topic:orders.created" -> "function:billing" [label="trigger"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:billing", "kind": "function", "name": "billing", "owner": "shop", "internal": true},
    {"id": "function:orders", "kind": "function", "name": "orders", "owner": "shop"},
    {"id": "route:POST /orders", "kind": "route", "name": "POST /orders"},
    {"id": "schedule:\"*/5 * * * *\" UTC", "kind": "schedule", "name": "\"*/5 * * * *\" UTC"},
    {"id": "topic:orders.created", "kind": "topic", "name": "orders.created"}
  ],
  "edges": [
    {"from": "function:orders", "to": "topic:orders.created", "kind": "publish"},
    {"from": "route:POST /orders", "to": "function:orders", "kind": "route"},
    {"from": "schedule:\"*/5 * * * *\" UTC", "to": "function:billing", "kind": "schedule"},
    {"from": "topic:orders.created", "to": "function:billing", "kind": "trigger"}
  ]
}`,
			wantPath: []string{"route:POST /orders", "function:orders", "topic:orders.created", "function:billing"},
		},
		{
			// Clients may publish to the topic over HTTP; the graph shows
			// the topic, with no edge into it.
			name: "a topic with triggers and no publishing function",
			fns: []graph.Function{
				{Name: "ingest", Triggers: []manifest.Trigger{{Topic: "webhooks.in"}}},
				{Name: "mirror", Triggers: []manifest.Trigger{{Topic: "webhooks.in"}}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:ingest" [label="ingest", shape=ellipse, style=filled, fillcolor=lightgrey];
  "function:mirror" [label="mirror", shape=ellipse, style=filled, fillcolor=lightgrey];
  "topic:webhooks.in" [label="webhooks.in", shape=diamond];
  "topic:webhooks.in" -> "function:ingest" [label="trigger"];
  "topic:webhooks.in" -> "function:mirror" [label="trigger"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:ingest", "kind": "function", "name": "ingest", "internal": true},
    {"id": "function:mirror", "kind": "function", "name": "mirror", "internal": true},
    {"id": "topic:webhooks.in", "kind": "topic", "name": "webhooks.in"}
  ],
  "edges": [
    {"from": "topic:webhooks.in", "to": "function:ingest", "kind": "trigger"},
    {"from": "topic:webhooks.in", "to": "function:mirror", "kind": "trigger"}
  ]
}`,
		},
		{
			name: "a function publishing to the topic it is triggered by",
			fns: []graph.Function{
				{Name: "loop", Capabilities: manifest.Capabilities{Publish: []string{"ticks"}}, Triggers: []manifest.Trigger{{Topic: "ticks"}}},
			},
			wantDOT: `digraph pave {
  rankdir=LR;
  "function:loop" [label="loop", shape=ellipse, style=filled, fillcolor=lightgrey];
  "topic:ticks" [label="ticks", shape=diamond];
  "function:loop" -> "topic:ticks" [label="publish"];
  "topic:ticks" -> "function:loop" [label="trigger"];
}
`,
			wantJSON: `{
  "nodes": [
    {"id": "function:loop", "kind": "function", "name": "loop", "internal": true},
    {"id": "topic:ticks", "kind": "topic", "name": "ticks"}
  ],
  "edges": [
    {"from": "function:loop", "to": "topic:ticks", "kind": "publish"},
    {"from": "topic:ticks", "to": "function:loop", "kind": "trigger"}
  ]
}`,
			wantPath: []string{"function:loop", "topic:ticks", "function:loop"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graph.Build(tt.fns)

			var dot bytes.Buffer
			if err := graph.WriteDOT(&dot, g); err != nil {
				t.Fatal(err)
			}
			if dot.String() != tt.wantDOT {
				t.Errorf("DOT:\n%s\nwant:\n%s", dot.String(), tt.wantDOT)
			}

			var js bytes.Buffer
			if err := graph.WriteJSON(&js, g); err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatalf("JSON output: %v\n%s", err, js.String())
			}
			if err := json.Unmarshal([]byte(tt.wantJSON), &want); err != nil {
				t.Fatalf("the test's JSON: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("JSON:\n%s\nwant:\n%s", js.String(), tt.wantJSON)
			}

			var back graph.Graph
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			has := map[[2]string]bool{}
			for _, e := range back.Edges {
				has[[2]string{e.From, e.To}] = true
			}
			for i := 1; i < len(tt.wantPath); i++ {
				if from, to := tt.wantPath[i-1], tt.wantPath[i]; !has[[2]string{from, to}] {
					t.Errorf("no edge %s -> %s on the path %s", from, to, strings.Join(tt.wantPath, " -> "))
				}
			}
		})
	}
}
