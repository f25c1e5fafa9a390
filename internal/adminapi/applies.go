package adminapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
)

// An apply of an app file is one audit event. The client starts it,
// saying which file (its digest) and commit it applies; every change it
// then makes carries the apply's id in the X-Pave-Apply header, and the
// handlers, not the client, note what each did; finishing records the
// one app.apply event with that list. The client is trusted for the
// digest and commit it reports and nothing else.

// Limits of applies in progress.
const (
	maxOpenApplies   = 16
	maxApplyAge      = time.Hour
	maxApplyChanges  = 4096
	applyDetailValue = 500 // the audit log cuts details near 512 bytes
)

var (
	applyDigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	applyCommitRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	applyNameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// applies are the applies in progress, by id.
type applies struct {
	mu   sync.Mutex
	open map[string]*applySession
}

type applySession struct {
	start   client.ApplyStart
	started time.Time
	done    []string // "function.deploy function:orders"
	refused []string // "POST /v1/functions: invalid_manifest"
	// unlisted counts what was noted past maxApplyChanges.
	unlisted int
}

// note records, for the apply in progress that r names in its header,
// a change done or a request refused.
func (a *applies) note(r *http.Request, done, refused string) {
	id := r.Header.Get(client.ApplyHeader)
	if id == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.open[id]
	if s == nil {
		return
	}
	if len(s.done)+len(s.refused) >= maxApplyChanges {
		s.unlisted++
		return
	}
	if done != "" {
		s.done = append(s.done, done)
	}
	if refused != "" {
		s.refused = append(s.refused, refused)
	}
}

// known reports whether r belongs to an apply in progress.
func (a *applies) known(r *http.Request) (string, bool) {
	id := r.Header.Get(client.ApplyHeader)
	if id == "" {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.open[id]
	return id, ok
}

func (h *Handler) startApply(w http.ResponseWriter, r *http.Request) error {
	var req client.ApplyStart
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	switch {
	case !applyNameRE.MatchString(req.App):
		return apierror.New(apierror.BadRequest, "app must be an app's name: lowercase letters, digits and '-'")
	case !applyDigestRE.MatchString(req.Digest):
		return apierror.New(apierror.BadRequest, "digest must be sha256:<64 lowercase hex digits> of the app file")
	case req.Commit != "" && !applyCommitRE.MatchString(req.Commit):
		return apierror.New(apierror.BadRequest, "commit must be a git commit id: 40 or 64 lowercase hex digits")
	case req.Env != "" && !applyNameRE.MatchString(req.Env):
		return apierror.New(apierror.BadRequest, "env must be an environment's name: lowercase letters, digits and '-'")
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	id := "apply_" + hex.EncodeToString(b)
	now := time.Now()
	h.applies.mu.Lock()
	defer h.applies.mu.Unlock()
	if h.applies.open == nil {
		h.applies.open = map[string]*applySession{}
	}
	for k, s := range h.applies.open {
		if now.Sub(s.started) > maxApplyAge {
			delete(h.applies.open, k)
		}
	}
	if len(h.applies.open) >= maxOpenApplies {
		return apierror.New(apierror.Conflict, "%d applies are in progress; finish one first", len(h.applies.open))
	}
	h.applies.open[id] = &applySession{start: req, started: now}
	return writeJSON(w, http.StatusCreated, client.ApplyStarted{ID: id})
}

func (h *Handler) finishApply(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req client.ApplyFinish
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	h.applies.mu.Lock()
	s := h.applies.open[id]
	delete(h.applies.open, id)
	h.applies.mu.Unlock()
	if s == nil {
		return apierror.New(apierror.NotFound, "no apply %q in progress", id)
	}
	rec := client.ApplyRecord{ID: id, Done: s.done, Refused: s.refused, Outcome: string(audit.OK)}
	if len(s.refused) > 0 || !req.Complete {
		rec.Outcome = string(audit.Failed)
	}
	details := map[string]string{
		"apply":   id,
		"digest":  s.start.Digest,
		"changes": strconv.Itoa(len(s.done)),
		"done":    joinCut(s.done),
		"took":    time.Since(s.started).Round(time.Millisecond).String(),
	}
	if s.start.Commit != "" {
		details["commit"] = s.start.Commit
		details["dirty"] = strconv.FormatBool(s.start.Dirty)
	}
	if s.start.Env != "" {
		details["env"] = s.start.Env
	}
	if len(s.refused) > 0 {
		details["refused"] = joinCut(s.refused)
	}
	if !req.Complete {
		details["complete"] = "false"
	}
	if s.unlisted > 0 {
		details["unlisted"] = strconv.Itoa(s.unlisted)
	}
	h.log.Info("app applied", "app", s.start.App, "apply", id, "changes", len(s.done), "outcome", rec.Outcome, "request_id", requestID(r))
	h.audit(r, audit.ActionAppApply, audit.Ref("app", s.start.App), rec.Outcome, details)
	return writeJSON(w, http.StatusOK, rec)
}

// joinCut joins list with "; ", cut to what an audit detail holds, saying
// how many entries were left out.
func joinCut(list []string) string {
	var b strings.Builder
	for i, s := range list {
		sep := ""
		if i > 0 {
			sep = "; "
		}
		if b.Len()+len(sep)+len(s)+len("; +9999 more") > applyDetailValue {
			fmt.Fprintf(&b, "%s+%d more", sep, len(list)-i)
			break
		}
		b.WriteString(sep + s)
	}
	return b.String()
}
