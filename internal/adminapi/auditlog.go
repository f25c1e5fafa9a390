package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
)

// AuditLog reads and verifies the audit log, and rotates its key.
type AuditLog interface {
	Events(ctx context.Context, since time.Time, fn func(audit.Event) error) error
	Verify(ctx context.Context) (audit.VerifyReport, error)
	// RotateKey hands the log to the next audit key, recording ev's
	// actor, source and details with the rotation; it returns the ids of
	// the old and the new key. ErrNoNextAuditKey: the next key is missing, or
	// a node lacks it.
	RotateKey(ctx context.Context, ev audit.Event) (from, to string, err error)
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
		KeyID: rep.Key, Rotations: rep.Rotations,
	}
	if !rep.LastSealTime.IsZero() {
		out.LastSealTime = &rep.LastSealTime
	}
	if p := rep.Problem; p != nil {
		out.Problem = &client.AuditProblem{Seq: p.Seq, Kind: string(p.Kind), Detail: p.Detail, Text: p.String()}
	}
	return writeJSON(w, http.StatusOK, out)
}

// auditRotateKey hands the audit log to the next key:
//
//	POST /v1/audit/rotate-key
//
// The rotation is itself the audit record (audit.rotate_key), sealed with
// the old key; a refused or failed one is audited as such.
func (h *Handler) auditRotateKey(w http.ResponseWriter, r *http.Request) error {
	if h.auditLog == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no audit log")
	}
	source := r.RemoteAddr
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	ev := audit.NewEvent(audit.ActorAdmin, audit.ActionRotateKey, "").From(source).With("request_id", requestID(r))
	from, to, err := h.auditLog.RotateKey(r.Context(), ev)
	switch {
	case errors.Is(err, ErrNoNextAuditKey), errors.Is(err, audit.ErrKeyNotHeld), errors.Is(err, audit.ErrBroken):
		// The message names key ids and files, never a key.
		h.audit(r, audit.ActionRotateKey, "", "denied", nil)
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		h.log.Error("audit key rotation failed", "audit", true, "err", err, "request_id", requestID(r))
		h.audit(r, audit.ActionRotateKey, "", "failed", nil)
		if apierror.IsOutage(err) {
			return &apierror.Error{Code: apierror.Unavailable, Message: "the store cannot be reached; the audit log may or may not be rotated: run pave nodes and pave audit verify, and rotate again", Cause: err, RetryAfter: 1}
		}
		return apierror.Wrap(err, apierror.Internal, "the rotation failed")
	}
	h.log.Info("audit key rotated", "audit", true, "old_key", from, "new_key", to, "request_id", requestID(r))
	return writeJSON(w, http.StatusOK, client.RotateAuditKeyResponse{OldKeyID: from, NewKeyID: to})
}
