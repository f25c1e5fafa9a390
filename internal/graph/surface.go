package graph

import (
	"cmp"
	"slices"
)

// Node kinds of what a function can reach besides functions and topics;
// only Surface adds them.
const (
	KindSecret = "secret"
	KindBucket = "bucket"
	KindHost   = "host"
)

// Edge kinds of Surface: a function may read a secret, use a kv bucket,
// or send HTTP requests to a host.
const (
	EdgeSecret = "secret"
	EdgeKV     = "kv"
	EdgeHTTP   = "http"
)

// Surface is the attack surface of fns: the flow graph of Build, and
// what each function's grants let it reach (secrets, kv buckets, outbound
// hosts), so that a path from an entry point to a secret shows.
func Surface(fns []Function) *Graph {
	g := Build(fns)
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		seen[n.ID] = true
	}
	reach := func(fn, kind, edge, name string) {
		id := kind + ":" + name
		if !seen[id] {
			seen[id] = true
			g.Nodes = append(g.Nodes, Node{ID: id, Kind: kind, Name: name})
		}
		g.Edges = append(g.Edges, Edge{From: "function:" + fn, To: id, Kind: edge})
	}
	for _, f := range fns {
		for _, s := range f.Capabilities.Secrets {
			reach(f.Name, KindSecret, EdgeSecret, s)
		}
		for b := range f.Capabilities.KV {
			reach(f.Name, KindBucket, EdgeKV, b)
		}
		for _, h := range f.Capabilities.HTTP {
			reach(f.Name, KindHost, EdgeHTTP, h)
		}
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind))
	})
	g.Edges = slices.Compact(g.Edges)
	return g
}

// Exposed returns the edges of g that lie on a path from a public route
// to a secret or an outbound host, and the nodes those paths go through:
// what anyone on the network can drive towards a secret or out of the
// machine. An edge u→v is on such a path when u can be reached from a
// public route and a secret or host can be reached from v (or v is one);
// cycles (functions that invoke each other) change nothing.
func Exposed(g *Graph) (edges map[Edge]bool, nodes map[string]bool) {
	out := map[string][]string{}
	in := map[string][]string{}
	for _, e := range g.Edges {
		out[e.From] = append(out[e.From], e.To)
		in[e.To] = append(in[e.To], e.From)
	}
	var public, sinks []string
	for _, n := range g.Nodes {
		switch {
		case n.Kind == KindRoute && n.Public:
			public = append(public, n.ID)
		case n.Kind == KindSecret || n.Kind == KindHost:
			sinks = append(sinks, n.ID)
		}
	}
	fromPublic := walk(public, out)
	toSink := walk(sinks, in)
	edges, nodes = map[Edge]bool{}, map[string]bool{}
	for _, e := range g.Edges {
		if fromPublic[e.From] && toSink[e.To] {
			edges[e] = true
			nodes[e.From], nodes[e.To] = true, true
		}
	}
	return edges, nodes
}

// walk returns the nodes reachable from start, start included.
func walk(start []string, next map[string][]string) map[string]bool {
	seen := map[string]bool{}
	stack := slices.Clone(start)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, next[n]...)
	}
	return seen
}
