package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/registry"
)

// quarantine disables a function without deleting it:
//
//	POST /v1/functions/{name}/quarantine {"reason": "..."}
func (h *Handler) quarantine(w http.ResponseWriter, r *http.Request) error {
	var req client.QuarantineRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" || len(reason) > 500 || strings.ContainsAny(reason, "\r\n") {
		return apierror.New(apierror.BadRequest, "give a reason of 1 to 500 characters on one line")
	}
	return h.setQuarantine(w, r, &registry.Quarantine{At: time.Now().UTC(), By: "admin", Reason: reason})
}

// restore ends a function's quarantine:
//
//	POST /v1/functions/{name}/restore
func (h *Handler) restore(w http.ResponseWriter, r *http.Request) error {
	return h.setQuarantine(w, r, nil)
}

func (h *Handler) setQuarantine(w http.ResponseWriter, r *http.Request, q *registry.Quarantine) error {
	name := r.PathValue("name")
	f, err := h.reg.SetQuarantine(r.Context(), name, q)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	case errors.Is(err, registry.ErrQuarantine):
		return apierror.Wrap(err, apierror.Conflict, "%s", strings.TrimPrefix(err.Error(), "quarantine: "))
	case err != nil:
		return err
	}
	action, reason := audit.ActionRestore, ""
	if q != nil {
		action, reason = audit.ActionQuarantine, q.Reason
	}
	h.audit(r, action, audit.Ref("function", name), "ok", map[string]string{"reason": reason})
	return writeJSON(w, http.StatusOK, h.view(f, false))
}
