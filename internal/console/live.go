package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/observe"
)

// The live tail: /ui/live lists the newest calls and refusals (a page
// that works without JavaScript, with a refresh link), and its script
// follows /ui/live/events, a stream of server-sent events fed by the
// invocation history (observe.History.Tail), as pave logs --follow is.
//
// A stream needs the session's cookie (nothing in its URL), sends no log
// line and no secret, and is bounded: a few per session and a few dozen
// in all, a heartbeat that finds a closed connection, and an end when
// the session ends or the daemon stops. Records pass through a bounded
// buffer; a browser that reads too slowly loses records (it is told how
// many) rather than holding anything up.

// Live follows new invocation records; *observe.History provides it.
type Live interface {
	Tail(ctx context.Context, function string, fn func(observe.Record) error) error
}

var _ Live = (*observe.History)(nil)

// Bounds of the live streams; variables so that tests can shorten them.
var (
	maxStreamsPerSession = 3
	maxStreams           = 32
	liveBuffer           = 256
	liveHeartbeat        = 15 * time.Second
	// liveCheck is how often a stream checks that its session lives.
	liveCheck = 5 * time.Second
)

// liveRows is how many records the live page lists.
const liveRows = 50

// liveStreams counts the open streams, and ends them all on Close.
type liveStreams struct {
	mu        sync.Mutex
	bySession map[*session]int
	total     int
	done      chan struct{}
	closeOnce sync.Once
}

func newLiveStreams() *liveStreams {
	return &liveStreams{bySession: map[*session]int{}, done: make(chan struct{})}
}

func (ls *liveStreams) acquire(s *session) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case ls.bySession[s] >= maxStreamsPerSession:
		e := apierror.New(apierror.RateLimited, "this session already follows %d live streams: close a live page", maxStreamsPerSession)
		e.RetryAfter = 10
		return e
	case ls.total >= maxStreams:
		e := apierror.New(apierror.RateLimited, "the console already serves %d live streams: try again later", maxStreams)
		e.RetryAfter = 30
		return e
	}
	ls.bySession[s]++
	ls.total++
	return nil
}

func (ls *liveStreams) release(s *session) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.total--
	if ls.bySession[s]--; ls.bySession[s] <= 0 {
		delete(ls.bySession, s)
	}
}

// Close ends the live streams, now and from now on; the daemon calls it
// when it shuts down, so that open streams do not hold the shutdown up.
func (c *Console) Close() {
	c.streams.closeOnce.Do(func() { close(c.streams.done) })
}

// alive reports whether the session of id has not ended, without
// counting this as a use of it (a stream must not keep a session alive).
func (ss *sessions) alive(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[hashID(id)]
	return ok && !ss.expired(s, ss.now())
}

// liveFilter selects records: by function, by caller (a part of its
// name) and by outcome.
type liveFilter struct {
	Function, Caller, Outcome string
}

// Outcomes of a call, as the live filter names them.
const (
	outcomeOK      = "ok"
	outcomeError   = "error"
	outcomeRefused = "refused"
)

func outcome(r observe.Record) string {
	if _, refused := observe.RefusalReason(r.Code); refused {
		return outcomeRefused
	}
	if failed(r) || r.Status >= 400 {
		return outcomeError
	}
	return outcomeOK
}

func (c *Console) parseLiveFilter(r *http.Request) (liveFilter, error) {
	q := r.URL.Query()
	f := liveFilter{Function: q.Get("function"), Caller: strings.TrimSpace(q.Get("caller")), Outcome: q.Get("outcome")}
	if f.Function != "" {
		if _, ok := c.d.Functions.Get(f.Function); !ok {
			return f, apierror.New(apierror.FunctionNotFound, "no function named %.100q", f.Function)
		}
	}
	if len(f.Caller) > 200 {
		return f, apierror.New(apierror.BadRequest, "caller: at most 200 characters")
	}
	switch f.Outcome {
	case "", outcomeOK, outcomeError, outcomeRefused:
	default:
		return f, apierror.New(apierror.BadRequest, "outcome: ok, error or refused")
	}
	return f, nil
}

func (f liveFilter) match(r observe.Record) bool {
	return (f.Function == "" || r.Function == f.Function) &&
		(f.Caller == "" || strings.Contains(callerName(r), f.Caller)) &&
		(f.Outcome == "" || outcome(r) == f.Outcome)
}

// query is the filter as a URL query.
func (f liveFilter) query() string {
	v := url.Values{}
	for k, s := range map[string]string{"function": f.Function, "caller": f.Caller, "outcome": f.Outcome} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// liveRow is a record as the live page and its events show it: no log
// lines, nothing but what identifies the call and how it ended.
type liveRow struct {
	Time      string `json:"time"`
	Function  string `json:"function"`
	Route     string `json:"route"`
	Caller    string `json:"caller"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Duration  string `json:"duration"`
	RequestID string `json:"request_id"`
}

func newLiveRow(r observe.Record) liveRow {
	row := liveRow{Time: when(r.Time), Function: r.Function, Route: r.Route, Caller: callerName(r), Outcome: outcome(r),
		Status: r.Status, Code: r.Code, Duration: "–", RequestID: r.RequestID}
	if observe.Ran(r) {
		row.Duration = fmt.Sprintf("%.1f ms", r.DurationMS)
	}
	return row
}

type liveData struct {
	Filter    liveFilter
	Functions []string
	Rows      []liveRow
	Missing   string
	Refresh   string // this page's URL, filter included
	Stream    string // the events' URL
}

func (c *Console) live(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := c.parseLiveFilter(r)
	if err != nil {
		return err
	}
	data := liveData{Filter: f, Refresh: Prefix + "live" + f.query(), Stream: Prefix + "live/events" + f.query()}
	fns := c.d.Functions.List()
	for _, fn := range fns {
		data.Functions = append(data.Functions, fn.Name)
	}
	sort.Strings(data.Functions)
	if c.d.Live == nil {
		data.Stream = ""
	}
	data.Rows, data.Missing = c.latest(r.Context(), f, data.Functions)
	c.render(w, http.StatusOK, "live", s, data)
	return nil
}

// latest returns the newest records of the last day that f matches,
// newest first, or why there are none.
func (c *Console) latest(ctx context.Context, f liveFilter, names []string) ([]liveRow, string) {
	if c.d.History == nil {
		return nil, "This daemon keeps no invocation history."
	}
	if f.Function != "" {
		names = []string{f.Function}
	}
	since := c.now().Add(-daySpan)
	var recs []observe.Record
	for _, name := range names {
		var ring []observe.Record
		next := 0
		err := c.d.History.Read(ctx, observe.Query{Function: name, Since: since}, func(rec observe.Record) error {
			if !f.match(rec) {
				return nil
			}
			if len(ring) < liveRows {
				ring = append(ring, rec)
			} else {
				ring[next] = rec
				next = (next + 1) % liveRows
			}
			return nil
		})
		if err != nil {
			c.log.Warn("console: history not read", "function", name, "err", err)
			return nil, "The invocation history cannot be read right now."
		}
		recs = append(recs, ring...)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.After(recs[j].Time) })
	recs = recs[:min(len(recs), liveRows)]
	if len(recs) == 0 {
		return nil, "No call in the last day matches."
	}
	rows := make([]liveRow, len(recs))
	for i, rec := range recs {
		rows[i] = newLiveRow(rec)
	}
	return rows, ""
}

// liveEvents streams the records f matches as server-sent events:
// "call" events carrying a liveRow as JSON, "dropped" events counting
// records a slow browser missed, "end" when the stream ends for good.
func (c *Console) liveEvents(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.d.Live == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no invocation history to follow")
	}
	f, err := c.parseLiveFilter(r)
	if err != nil {
		return err
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return errSignIn
	}
	if err := c.streams.acquire(s); err != nil {
		return err
	}
	defer c.streams.release(s)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	recs := make(chan observe.Record, liveBuffer)
	var dropped atomic.Int64
	tailed := make(chan error, 1)
	go func() {
		tailed <- c.d.Live.Tail(ctx, f.Function, func(rec observe.Record) error {
			if !f.match(rec) {
				return nil
			}
			select {
			case recs <- rec:
			default:
				dropped.Add(1)
			}
			return nil
		})
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(chunk string) bool {
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	end := func(why string) { send("event: end\ndata: " + why + "\n\n") }
	if !send("retry: 5000\n: following\n\n") {
		return nil
	}
	heartbeat := time.NewTicker(liveHeartbeat)
	defer heartbeat.Stop()
	check := time.NewTicker(liveCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.streams.done:
			end("the console is shutting down")
			return nil
		case err := <-tailed:
			if err != nil {
				c.log.Warn("console: live stream ended", "err", err)
			}
			end("the invocation history cannot be followed right now")
			return nil
		case <-check.C:
			if !c.sessions.alive(ck.Value) {
				end("your session has ended")
				return nil
			}
		case <-heartbeat.C:
			if !send(": heartbeat\n\n") {
				return nil
			}
		case rec := <-recs:
			if n := dropped.Swap(0); n > 0 && !send(fmt.Sprintf("event: dropped\ndata: %d\n\n", n)) {
				return nil
			}
			b, err := json.Marshal(newLiveRow(rec))
			if err != nil {
				continue
			}
			if !send("event: call\ndata: " + string(b) + "\n\n") {
				return nil
			}
		}
	}
}
