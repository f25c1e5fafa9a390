package adminapi

import (
	"context"
	"net/http"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/members"
)

// Nodes lists the nodes sharing the store.
type Nodes interface {
	Nodes(ctx context.Context) ([]members.Node, error)
}

// GET /v1/nodes
func (h *Handler) listNodes(w http.ResponseWriter, r *http.Request) error {
	if h.nodes == nil {
		return apierror.New(apierror.Unavailable, "this daemon does not list nodes")
	}
	nodes, err := h.nodes.Nodes(r.Context())
	if err != nil {
		return err
	}
	out := client.NodeList{Nodes: make([]client.Node, 0, len(nodes))}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, client.Node(n))
	}
	return writeJSON(w, http.StatusOK, out)
}
