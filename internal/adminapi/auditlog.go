package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
)

// AuditLog reads and verifies the audit log.
type AuditLog interface {
	Events(ctx context.Context, since time.Time, fn func(audit.Event) error) error
	Verify(ctx context.Context) (audit.VerifyReport, error)
}

// auditEvents streams audit events as JSON lines:
//
//	GET /v1/audit?since=24h
//
// since is a duration back from now or an RFC 3339 time; empty means the
// whole log.
func (h *Handler) auditEvents(w http.ResponseWriter, r *http.Request) error {
	if h.auditLog == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no audit log")
	}
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := parseSince(s, time.Now())
		if err != nil {
			return apierror.Wrap(err, apierror.BadRequest, "since: give a duration such as 24h or an RFC 3339 time")
		}
		since = t
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	started := false
	err := h.auditLog.Events(r.Context(), since, func(e audit.Event) error {
		if !started {
			w.WriteHeader(http.StatusOK)
			started = true
		}
		return enc.Encode(e)
	})
	if err != nil && !started {
		return apierror.Wrap(err, apierror.Unavailable, "the audit log cannot be read right now")
	}
	if !started {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// auditVerify checks the audit log's chain, seals and head:
//
//	GET /v1/audit/verify
func (h *Handler) auditVerify(w http.ResponseWriter, r *http.Request) error {
	if h.auditLog == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no audit log")
	}
	rep, err := h.auditLog.Verify(r.Context())
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the audit log cannot be read right now")
	}
	out := client.AuditVerifyReport{
		OK: rep.OK(), First: rep.First, Last: rep.Last, End: rep.End, Events: rep.Events, Seals: rep.Seals,
		LastSeal: rep.LastSeal, Unsealed: rep.Unsealed, Head: rep.Head, Pruned: rep.Pruned, Warnings: rep.Warnings,
	}
	if !rep.LastSealTime.IsZero() {
		out.LastSealTime = &rep.LastSealTime
	}
	if p := rep.Problem; p != nil {
		out.Problem = &client.AuditProblem{Seq: p.Seq, Kind: string(p.Kind), Detail: p.Detail, Text: p.String()}
	}
	return writeJSON(w, http.StatusOK, out)
}
