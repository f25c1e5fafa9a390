// Package graph derives the flow graph of deployed functions from their
// manifests: which entry points reach which function, which function may
// call which, which publishes to which topic, and which topics and
// schedules run which function. These are the only edges pave lets a call
// take (SAS-9, flow manipulation): a route reaches its function, an invoke
// reaches a function only if the caller's manifest names it, a publish
// reaches only a topic the manifest names, and a topic's events and a
// schedule's ticks reach only the functions whose manifests subscribe to
// them. Any other call is refused, and the refusal is audited, by the
// gateway and package capability; this package only describes the edges,
// for people (DOT) and programs (JSON).
//
// A topic may also be published to from outside, over HTTP (POST
// /events/TOPIC, with an API key holding the scope publish:TOPIC), so a
// topic with triggers is an entry point even when no function publishes to
// it; the graph has no node for those clients, since any key with the
// scope is one.
package graph

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/pave-dev/pave/internal/manifest"
)

// Node kinds.
const (
	KindRoute    = "route"
	KindFunction = "function"
	KindTopic    = "topic"
	KindSchedule = "schedule"
)

// Edge kinds.
const (
	EdgeRoute    = "route"    // a route reaches its function
	EdgeInvoke   = "invoke"   // a function may call another
	EdgePublish  = "publish"  // a function may publish to a topic
	EdgeTrigger  = "trigger"  // a topic's events run a function
	EdgeSchedule = "schedule" // a schedule's ticks run a function
)

// Node is a route, a function, a topic or a schedule.
type Node struct {
	// ID is the kind and the name: "function:orders", "route:POST
	// /orders", "topic:orders.created", `schedule:"*/5 * * * *" UTC`.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Name is a function's or topic's name, a route's method and path,
	// or a schedule's expression, quoted, and its time zone.
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"` // functions
	// Public marks a route anyone may call; Internal a function with no
	// route of its own (triggers may still run it); Missing a function an
	// edge names that is not deployed.
	Public   bool `json:"public,omitempty"`
	Internal bool `json:"internal,omitempty"`
	Missing  bool `json:"missing,omitempty"`
	// Auth is how a route's callers prove who they are: manifest.AuthAPIKey,
	// AuthJWT or AuthWebhook; "" for a public route.
	Auth string `json:"auth,omitempty"`
}

// Edge is an allowed flow from one node to another.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Graph is the flow graph, nodes and edges sorted.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Function is what the graph needs of a deployed function.
type Function struct {
	Name, Owner  string
	Routes       []manifest.Route
	Capabilities manifest.Capabilities
	Triggers     []manifest.Trigger
}

// scheduleName names the node of a schedule: its expression, quoted since
// it holds spaces, and the time zone it is read in, as in
// "*/5 * * * *" UTC. Functions with the same schedule in the same zone
// share the node, as functions subscribed to a topic share its node.
func scheduleName(t manifest.Trigger) string {
	return strconv.Quote(t.Schedule) + " " + cmp.Or(t.Timezone, "UTC")
}

// Build derives the graph of fns.
func Build(fns []Function) *Graph {
	g := &Graph{Nodes: []Node{}, Edges: []Edge{}}
	nodes := map[string]int{}
	add := func(n Node) string {
		if _, ok := nodes[n.ID]; !ok {
			nodes[n.ID] = len(g.Nodes)
			g.Nodes = append(g.Nodes, n)
		}
		return n.ID
	}
	// Deployed functions first, so that an edge to one finds its node.
	deployed := map[string]bool{}
	for _, f := range fns {
		deployed[f.Name] = true
		add(Node{ID: "function:" + f.Name, Kind: KindFunction, Name: f.Name, Owner: f.Owner, Internal: len(f.Routes) == 0})
	}
	for _, f := range fns {
		fn := "function:" + f.Name
		for _, r := range f.Routes {
			name := r.Method + " " + r.Path
			rt := add(Node{ID: "route:" + name, Kind: KindRoute, Name: name, Public: r.Public, Auth: r.Auth})
			g.Edges = append(g.Edges, Edge{From: rt, To: fn, Kind: EdgeRoute})
		}
		for _, callee := range f.Capabilities.Invoke {
			to := add(Node{ID: "function:" + callee, Kind: KindFunction, Name: callee, Missing: !deployed[callee]})
			g.Edges = append(g.Edges, Edge{From: fn, To: to, Kind: EdgeInvoke})
		}
		for _, topic := range f.Capabilities.Publish {
			to := add(Node{ID: "topic:" + topic, Kind: KindTopic, Name: topic})
			g.Edges = append(g.Edges, Edge{From: fn, To: to, Kind: EdgePublish})
		}
		for _, t := range f.Triggers {
			switch {
			case t.Topic != "":
				from := add(Node{ID: "topic:" + t.Topic, Kind: KindTopic, Name: t.Topic})
				g.Edges = append(g.Edges, Edge{From: from, To: fn, Kind: EdgeTrigger})
			case t.Schedule != "":
				name := scheduleName(t)
				from := add(Node{ID: "schedule:" + name, Kind: KindSchedule, Name: name})
				g.Edges = append(g.Edges, Edge{From: from, To: fn, Kind: EdgeSchedule})
			}
		}
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind))
	})
	g.Edges = slices.Compact(g.Edges)
	return g
}

// WriteJSON writes g as indented JSON.
func WriteJSON(w io.Writer, g *Graph) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// WriteDOT writes g in Graphviz's DOT language: routes as boxes (dashed
// when public), functions as ellipses (grey when internal, red when an
// edge names one that is not deployed), topics as diamonds and schedules
// as hexagons.
func WriteDOT(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("digraph pave {\n  rankdir=LR;\n")
	for _, n := range g.Nodes {
		attrs := []string{"label=" + dotQuote(n.Name)}
		switch n.Kind {
		case KindRoute:
			attrs = append(attrs, "shape=box")
			if n.Public {
				attrs = append(attrs, "style=dashed", `xlabel="public"`)
			}
		case KindTopic:
			attrs = append(attrs, "shape=diamond")
		case KindSchedule:
			attrs = append(attrs, "shape=hexagon")
		default:
			attrs = append(attrs, "shape=ellipse")
			switch {
			case n.Missing:
				attrs = append(attrs, "color=red", `xlabel="not deployed"`)
			case n.Internal:
				attrs = append(attrs, "style=filled", "fillcolor=lightgrey")
			}
		}
		fmt.Fprintf(&b, "  %s [%s];\n", dotQuote(n.ID), strings.Join(attrs, ", "))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(e.Kind))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotQuote quotes s as a DOT string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
