package adminapi

import (
	"net/http"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/graph"
)

// flowGraph describes the edges calls may take between routes, functions
// and topics, derived from the active versions' manifests:
//
//	GET /v1/graph?format=json|dot
func (h *Handler) flowGraph(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "dot" {
		return apierror.New(apierror.BadRequest, "format: json or dot")
	}
	var fns []graph.Function
	for _, f := range h.reg.List() {
		v := f.Current()
		fns = append(fns, graph.Function{Name: f.Name, Owner: f.Owner, Routes: v.Routes, Capabilities: v.Capabilities, Triggers: v.Triggers})
	}
	g := graph.Build(fns)
	w.Header().Set("Cache-Control", "no-store")
	if format == "dot" {
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		return graph.WriteDOT(w, g)
	}
	w.Header().Set("Content-Type", "application/json")
	return graph.WriteJSON(w, g)
}
