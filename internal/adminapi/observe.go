package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/observe"
)

// History reads invocation records; *observe.History provides it.
type History interface {
	Read(ctx context.Context, q observe.Query, fn func(observe.Record) error) error
}

var _ History = (*observe.History)(nil)

// MaxHistoryLimit bounds the records one history request returns, unless
// it follows.
const MaxHistoryLimit = 10000

// history streams a function's invocation records as JSON lines:
//
//	GET /v1/functions/{name}/history?since=1h&status=5xx&limit=100&follow=true
//
// since is a duration back from now or an RFC 3339 time (default 1h);
// status a status or class; limit keeps the newest records (default 100);
// follow keeps the response open and streams new records as they are
// written.
func (h *Handler) history(w http.ResponseWriter, r *http.Request) error {
	if h.hist == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no invocation history")
	}
	name := r.PathValue("name")
	if _, ok := h.reg.Get(name); !ok {
		return apierror.New(apierror.FunctionNotFound, "function %q is not deployed", name)
	}
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"), time.Now())
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "since: give a duration such as 1h or an RFC 3339 time")
	}
	status, err := observe.ParseStatus(q.Get("status"))
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "status: give a status such as 404 or a class such as 5xx")
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxHistoryLimit {
			return apierror.New(apierror.BadRequest, "limit: give a whole number from 1 to %d", MaxHistoryLimit)
		}
	}
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	query := observe.Query{Function: name, Since: since, Status: status, Follow: follow}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if follow {
		flusher, _ := w.(http.Flusher)
		w.WriteHeader(http.StatusOK)
		if flusher != nil {
			flusher.Flush()
		}
		err := h.hist.Read(r.Context(), query, func(rec observe.Record) error {
			if err := enc.Encode(rec); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
			return nil
		})
		if err != nil && r.Context().Err() == nil {
			h.log.Warn("history stream ended", "function", name, "err", err)
		}
		return nil
	}
	// Keep the newest limit records, in a ring.
	ring := make([]observe.Record, 0, min(limit, 1024))
	next := 0 // where the oldest record is, once the ring is full
	err = h.hist.Read(r.Context(), query, func(rec observe.Record) error {
		if len(ring) < limit {
			ring = append(ring, rec)
			return nil
		}
		ring[next] = rec
		next = (next + 1) % limit
		return nil
	})
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the invocation history cannot be read right now")
	}
	w.WriteHeader(http.StatusOK)
	for i := range ring {
		if err := enc.Encode(ring[(next+i)%len(ring)]); err != nil {
			return nil // the client went away
		}
	}
	return nil
}

// parseSince reads a duration back from now or an RFC 3339 time; empty
// means one hour.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.Add(-time.Hour), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("negative duration")
		}
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

// serveMetrics serves the Prometheus metrics to the admin.
func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if h.metrics == nil {
		return apierror.New(apierror.NotFound, "no such endpoint")
	}
	h.metrics.ServeHTTP(w, r)
	return nil
}
