package adminapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
)

// Auditor keeps the audit log of administrative actions; the daemon
// provides the tamper-evident one. Details never hold secret values or
// tokens.
type Auditor interface {
	Audit(ctx context.Context, actor, action, target, outcome, source string, details map[string]string)
}

// audit records an administrative action by the admin, in the log and,
// when there is one, the audit log.
func (h *Handler) audit(r *http.Request, action, target, outcome string, details map[string]string) {
	source := r.RemoteAddr
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	if details == nil {
		details = map[string]string{}
	}
	details["request_id"] = requestID(r)
	if id, ok := h.applies.known(r); ok {
		details["apply"] = id
		if outcome == "ok" {
			h.applies.note(r, action+" "+target, "")
		}
	}
	attrs := []any{"audit", true, "action", action, "target", target, "outcome", outcome, "source", source}
	for k, v := range details {
		if v != "" {
			attrs = append(attrs, k, v)
		}
	}
	h.log.Log(r.Context(), slog.LevelInfo, "admin action", attrs...)
	if h.auditor != nil {
		h.auditor.Audit(r.Context(), "admin", action, target, outcome, source, details)
	}
}
