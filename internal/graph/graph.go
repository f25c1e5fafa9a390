// Package graph derives the flow graph of deployed functions from their
// manifests: which entry points reach which function, which function may
// call which, and which publishes to which topic. These are the only edges
// pave lets a call take (SAS-9, flow manipulation): a route reaches its
// function, an invoke reaches a function only if the caller's manifest
// names it, and a publish reaches only a topic the manifest names. Any
// other call is refused, and the refusal is audited, by the gateway and
// package capability; this package only describes the edges, for people
// (DOT) and programs (JSON).
package graph

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pave-dev/pave/internal/manifest"
)

// Node kinds.
const (
	KindRoute    = "route"
	KindFunction = "function"
	KindTopic    = "topic"
)

// Edge kinds.
const (
	EdgeRoute   = "route"   // a route reaches its function
	EdgeInvoke  = "invoke"  // a function may call another
	EdgePublish = "publish" // a function may publish to a topic
)

// Node is a route, a function or a topic.
type Node struct {
	ID    string `json:"id"` // "function:orders", "route:POST /orders", "topic:orders.created"
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"` // functions
	// Public marks a route anyone may call; Internal a function with no
	// route of its own; Missing a function an edge names that is not
	// deployed.
	Public   bool `json:"public,omitempty"`
	Internal bool `json:"internal,omitempty"`
	Missing  bool `json:"missing,omitempty"`
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
			rt := add(Node{ID: "route:" + name, Kind: KindRoute, Name: name, Public: r.Public})
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
// edge names one that is not deployed), topics as diamonds.
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
