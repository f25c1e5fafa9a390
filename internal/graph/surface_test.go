package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/graph"
	"github.com/pave-dev/pave/internal/manifest"
)

func TestSurface(t *testing.T) {
	g := graph.Surface([]graph.Function{
		{Name: "a", Routes: []manifest.Route{{Method: "GET", Path: "/a", Auth: manifest.AuthJWT}},
			Capabilities: manifest.Capabilities{Secrets: []string{"db"}, KV: map[string]string{"carts": "write"}, HTTP: []string{"api.example.com"}}},
		{Name: "b", Capabilities: manifest.Capabilities{Secrets: []string{"db"}}},
	})
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+" -"+e.Kind+"-> "+e.To)
	}
	want := []string{
		"function:a -kv-> bucket:carts",
		"function:a -http-> host:api.example.com",
		"function:a -secret-> secret:db",
		"function:b -secret-> secret:db",
		"route:GET /a -route-> function:a",
	}
	if !slices.Equal(edges, want) {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(edges, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range g.Nodes {
		if n.ID == "route:GET /a" && n.Auth != manifest.AuthJWT {
			t.Errorf("route node's auth %q, want jwt", n.Auth)
		}
	}
}

func TestExposed(t *testing.T) {
	pub := func(p string) manifest.Route { return manifest.Route{Method: "GET", Path: p, Public: true} }
	keyed := func(p string) manifest.Route {
		return manifest.Route{Method: "GET", Path: p, Auth: manifest.AuthAPIKey}
	}
	for _, tc := range []struct {
		name string
		fns  []graph.Function
		want []string // exposed edges, "from -> to"
	}{
		{"nothing public", []graph.Function{
			{Name: "a", Routes: []manifest.Route{keyed("/a")}, Capabilities: manifest.Capabilities{Secrets: []string{"s"}}},
		}, nil},
		{"public route to a secret", []graph.Function{
			{Name: "a", Routes: []manifest.Route{pub("/a")}, Capabilities: manifest.Capabilities{Secrets: []string{"s"}, KV: map[string]string{"b": "read"}}},
		}, []string{"function:a -> secret:s", "route:GET /a -> function:a"}},
		{"public route, no secret nor host", []graph.Function{
			{Name: "a", Routes: []manifest.Route{pub("/a")}, Capabilities: manifest.Capabilities{KV: map[string]string{"b": "read"}, Publish: []string{"t"}}},
		}, nil},
		{"through an invoke and a topic to a host", []graph.Function{
			{Name: "a", Routes: []manifest.Route{pub("/a")}, Capabilities: manifest.Capabilities{Invoke: []string{"b"}}},
			{Name: "b", Capabilities: manifest.Capabilities{Publish: []string{"t"}}},
			{Name: "c", Triggers: []manifest.Trigger{{Topic: "t"}}, Capabilities: manifest.Capabilities{HTTP: []string{"x.example"}}},
			{Name: "d", Routes: []manifest.Route{keyed("/d")}, Capabilities: manifest.Capabilities{Secrets: []string{"s"}}},
		}, []string{
			"function:a -> function:b", "function:b -> topic:t", "function:c -> host:x.example",
			"route:GET /a -> function:a", "topic:t -> function:c",
		}},
		{"a cycle", []graph.Function{
			{Name: "a", Routes: []manifest.Route{pub("/a")}, Capabilities: manifest.Capabilities{Invoke: []string{"b"}}},
			{Name: "b", Capabilities: manifest.Capabilities{Invoke: []string{"a"}, Secrets: []string{"s"}}},
		}, []string{"function:a -> function:b", "function:b -> function:a", "function:b -> secret:s", "route:GET /a -> function:a"}},
		{"a schedule is no public entry", []graph.Function{
			{Name: "a", Triggers: []manifest.Trigger{{Schedule: "@daily"}}, Capabilities: manifest.Capabilities{Secrets: []string{"s"}}},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edges, nodes := graph.Exposed(graph.Surface(tc.fns))
			var got []string
			for e := range edges {
				got = append(got, e.From+" -> "+e.To)
				if !nodes[e.From] || !nodes[e.To] {
					t.Errorf("edge %v exposed, its nodes not", e)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("exposed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
