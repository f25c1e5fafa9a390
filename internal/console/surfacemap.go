package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pave-dev/pave/internal/graph"
)

// The attack-surface map: the graph graph.Surface derives from the
// active versions' manifests (what pave graph shows, and what the
// functions' grants reach), laid out by the server in three columns and
// drawn as SVG by templates/map.html. Entry points are on the left,
// functions in the middle, what they reach on the right; the edges of
// every path from a public route to a secret or an outbound host
// (graph.Exposed) are highlighted.

// Geometry of the map.
const (
	mapColX     = 20.0  // left edge of the entry column
	mapColW     = 260.0 // width of a node box
	mapColGap   = 140.0 // between columns
	mapRowH     = 34.0  // per node
	mapBoxH     = 24.0
	mapTop      = 30.0 // room for the column headings
	mapMaxLabel = 34   // characters of a node's label
)

// mapNode is a node of the map, placed.
type mapNode struct {
	graph.Node
	X, Y, TextX, TextY string
	Class              string // entry, public, function, reach, exposed…
	Href               string // its details: a function's page, or the node's row below the map
	Anchor             string // the id of its row in the details table
	Label              string
	Tip                string
	In, Out            []string // the edges, as text, for the details table
	Exposed            bool
	col                int
	y                  float64
}

// mapEdge is an edge of the map, as an SVG path.
type mapEdge struct {
	D, Class, Tip string
}

type mapData struct {
	Owner         string
	Owners        []string
	Width, Height int
	Headings      []label
	Nodes         []mapNode
	Edges         []mapEdge
	Exposed       int // edges on a path from a public route to a secret or host
	Public        int // public routes shown
}

// surfaceFunctions is what graph.Surface needs of the deployed functions.
func (c *Console) surfaceFunctions() []graph.Function {
	var fns []graph.Function
	for _, f := range c.d.Functions.List() {
		v := f.Current()
		fns = append(fns, graph.Function{Name: f.Name, Owner: f.Owner, Routes: v.Routes, Capabilities: v.Capabilities, Triggers: v.Triggers})
	}
	return fns
}

func (c *Console) surfaceMap(w http.ResponseWriter, r *http.Request, s *session) error {
	owner := strings.TrimSpace(r.URL.Query().Get("owner"))
	fns := c.surfaceFunctions()
	g := graph.Surface(fns)
	exposed, exposedNodes := graph.Exposed(g)
	data := layoutMap(g, exposed, exposedNodes, owner)
	seen := map[string]bool{}
	for _, f := range fns {
		if !seen[f.Owner] {
			seen[f.Owner] = true
			data.Owners = append(data.Owners, f.Owner)
		}
	}
	sort.Strings(data.Owners)
	c.render(w, http.StatusOK, "map", s, data)
	return nil
}

// column is where a node goes: 0 entry points, 1 functions, 2 what they
// reach. A topic is an entry point when its events run a function, and
// something reached otherwise.
func column(n graph.Node, triggers map[string]bool) int {
	switch n.Kind {
	case graph.KindRoute, graph.KindSchedule:
		return 0
	case graph.KindTopic:
		if triggers[n.ID] {
			return 0
		}
		return 2
	case graph.KindFunction:
		return 1
	}
	return 2
}

// layoutMap places g's nodes, keeping, when owner is not empty, the
// functions of that owner and the nodes next to them. Exposure is of
// the whole graph: a path may go through another owner's function.
func layoutMap(g *graph.Graph, exposed map[graph.Edge]bool, exposedNodes map[string]bool, owner string) mapData {
	keep := map[string]bool{}
	owners := map[string]string{}
	for _, n := range g.Nodes {
		if n.Kind == graph.KindFunction {
			owners[n.ID] = n.Owner
			if owner == "" || n.Owner == owner {
				keep[n.ID] = true
			}
		}
	}
	var edges []graph.Edge
	for _, e := range g.Edges {
		from, to := owners[e.From], owners[e.To]
		_, fromFn := owners[e.From]
		_, toFn := owners[e.To]
		if owner == "" || (fromFn && from == owner) || (toFn && to == owner) {
			edges = append(edges, e)
			keep[e.From], keep[e.To] = true, true
		}
	}
	triggers := map[string]bool{}
	for _, e := range edges {
		if e.Kind == graph.EdgeTrigger {
			triggers[e.From] = true
		}
	}
	data := mapData{Owner: owner}
	var cols [3][]int
	byID := map[string]int{}
	for _, n := range g.Nodes {
		if !keep[n.ID] {
			continue
		}
		col := column(n, triggers)
		i := len(data.Nodes)
		byID[n.ID] = i
		cols[col] = append(cols[col], i)
		mn := mapNode{Node: n, Exposed: exposedNodes[n.ID], Anchor: "node-" + strconv.Itoa(i), col: col}
		mn.Label, mn.Class, mn.Tip = nodeLook(n, mn.Exposed)
		mn.Href = "#" + mn.Anchor
		if n.Kind == graph.KindFunction && !n.Missing {
			mn.Href = "/ui/functions/" + url.PathEscape(n.Name)
		}
		if n.Kind == graph.KindRoute && n.Public {
			data.Public++
		}
		data.Nodes = append(data.Nodes, mn)
	}
	rows := 0
	for col, idx := range cols {
		rows = max(rows, len(idx))
		x := mapColX + float64(col)*(mapColW+mapColGap)
		for row, i := range idx {
			y := mapTop + float64(row)*mapRowH
			n := &data.Nodes[i]
			n.y = y
			n.X, n.Y, n.TextX, n.TextY = coord(x), coord(y), coord(x+8), coord(y+16)
		}
	}
	data.Width = int(2*mapColX + 3*mapColW + 2*mapColGap)
	data.Height = int(mapTop + float64(max(rows, 1))*mapRowH + 10)
	for col, h := range []string{"Entry points", "Functions", "What they reach"} {
		data.Headings = append(data.Headings, newLabel(mapColX+float64(col)*(mapColW+mapColGap), 16, "start", h))
	}
	for _, e := range edges {
		from, to := &data.Nodes[byID[e.From]], &data.Nodes[byID[e.To]]
		text := e.From + " –" + e.Kind + "→ " + e.To
		from.Out = append(from.Out, text)
		to.In = append(to.In, text)
		me := mapEdge{D: edgePath(from.col, from.y, to.col, to.y), Class: "edge " + e.Kind, Tip: text}
		if exposed[e] {
			me.Class += " exposed"
			me.Tip += " (on a path from a public route)"
			data.Exposed++
		}
		data.Edges = append(data.Edges, me)
	}
	return data
}

// edgePath is a curve from the right side of a node in column fc at y
// fy to the left side of one in column tc at ty; an edge within a
// column, or back to an earlier one, loops round on the right.
func edgePath(fc int, fy float64, tc int, ty float64) string {
	y1, y2 := fy+mapBoxH/2, ty+mapBoxH/2
	colX := func(c int) float64 { return mapColX + float64(c)*(mapColW+mapColGap) }
	x1 := colX(fc) + mapColW
	if tc > fc {
		x2 := colX(tc)
		mid := (x1 + x2) / 2
		return "M" + coord(x1) + " " + coord(y1) + " C" + coord(mid) + " " + coord(y1) + " " + coord(mid) + " " + coord(y2) + " " + coord(x2) + " " + coord(y2)
	}
	x2 := colX(tc) + mapColW
	out := max(x1, x2) + 60
	return "M" + coord(x1) + " " + coord(y1) + " C" + coord(out) + " " + coord(y1) + " " + coord(out) + " " + coord(y2) + " " + coord(x2) + " " + coord(y2)
}

// nodeLook is a node's label, its classes and its tooltip.
func nodeLook(n graph.Node, exposed bool) (lbl, class, tip string) {
	lbl, class, tip = n.Name, n.Kind, n.Kind+" "+n.Name
	switch n.Kind {
	case graph.KindRoute:
		switch {
		case n.Public:
			lbl, class, tip = "PUBLIC "+n.Name, "route public", "public route "+n.Name+": anyone may call it"
		case n.Auth != "":
			lbl, tip = n.Auth+" "+n.Name, "route "+n.Name+", auth "+n.Auth
			class = "route " + n.Auth
		}
	case graph.KindFunction:
		if n.Owner != "" {
			tip += " (owner " + n.Owner + ")"
		}
		if n.Missing {
			class += " missing"
			lbl += " (not deployed)"
		}
	}
	if exposed {
		class += " exposed"
	}
	return cut(lbl, mapMaxLabel, "…"), class, tip
}
