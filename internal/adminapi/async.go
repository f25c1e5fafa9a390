package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/audit"
)

// Async is the queue of asynchronous calls and its dead letters.
type Async interface {
	Get(ctx context.Context, id string) (async.Call, error)
	Dead(ctx context.Context, function string, limit int) ([]async.DeadJob, error)
	Redrive(ctx context.Context, function string, seqs []uint64) (int, error)
}

var _ Async = (*async.Queue)(nil)

// maxDeadList bounds one listing of dead letters.
const maxDeadList = 1000

// call returns an asynchronous call's record, whoever made it:
//
//	GET /v1/calls/{id}
func (h *Handler) call(w http.ResponseWriter, r *http.Request) error {
	if h.async == nil {
		return apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	c, err := h.async.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, async.ErrNotFound) {
		return apierror.New(apierror.NotFound, "no such call")
	}
	if err != nil {
		return err
	}
	c.Digest = ""
	return writeJSON(w, http.StatusOK, c)
}

// deadLetters lists a function's dead letters:
//
//	GET /v1/functions/{name}/dlq?limit=N
func (h *Handler) deadLetters(w http.ResponseWriter, r *http.Request) error {
	if h.async == nil {
		return apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	limit := maxDeadList
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeadList {
			return apierror.New(apierror.BadRequest, "limit must be a number from 1 to %d", maxDeadList)
		}
		limit = n
	}
	name := r.PathValue("name")
	dead, err := h.async.Dead(r.Context(), name, limit)
	if err != nil {
		return err
	}
	if dead == nil {
		dead = []async.DeadJob{}
	}
	return writeJSON(w, http.StatusOK, dead)
}

// redrive queues dead letters again, with fresh attempts:
//
//	POST /v1/functions/{name}/dlq/retry {"sequences": [3, 9]} or {"all": true}
func (h *Handler) redrive(w http.ResponseWriter, r *http.Request) error {
	if h.async == nil {
		return apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	var req client.RedriveRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	if req.All == (len(req.Sequences) > 0) {
		return apierror.New(apierror.BadRequest, "name the dead letters' sequence numbers, or set all")
	}
	name := r.PathValue("name")
	seqs := req.Sequences
	if req.All {
		dead, err := h.async.Dead(r.Context(), name, 0)
		if err != nil {
			return err
		}
		for _, d := range dead {
			seqs = append(seqs, d.Sequence)
		}
	}
	n, err := h.async.Redrive(r.Context(), name, seqs)
	h.audit(r, "dlq.retry", audit.Ref("function", name), outcomeOf(err), map[string]string{"redriven": fmt.Sprint(n)})
	if errors.Is(err, async.ErrNotDead) {
		return apierror.Wrap(err, apierror.NotFound, "%s (%d re-driven before it)", err.Error(), n)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.RedriveResult{Redriven: n})
}

func outcomeOf(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}
