// Package observe keeps the history of invocations: one Record for every
// call the gateway answers, with the function's own log lines, kept in a
// JetStream stream for as long as the operator's retention allows.
//
// Records are written in batches. The embedded store fsyncs every message,
// which takes a millisecond or more, so one message per invocation would
// cap the gateway at the disk's sync rate. Instead Observe only queues the
// record; every FlushInterval the queue is written as one message per
// function (subject pave.calls.<function>), each holding that function's
// records as JSON lines. A crash loses at most the records of the last
// interval (the invocations' one-line log records, written at once, remain);
// a queue that cannot drain fast enough drops records and counts them
// rather than slow invocations down.
//
// Reading filters by function through the subject, and by time through the
// stream's own timestamps, so a query reads only the messages it needs.
package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/store"
)

// Record is what pave keeps of one invocation, as the admin API sends it.
type Record = client.Invocation

// CapabilityCount is how many calls of one capability group an invocation
// made, and how many of them were denied.
type CapabilityCount = client.CapabilityCount

// LogLine is one line the function logged.
type LogLine = client.LogLine

// RefusalReason groups an error code into the reason a call was refused
// before its function ran; refused is false for codes of calls that ran
// (or failed running) and for success.
func RefusalReason(code string) (reason string, refused bool) {
	switch code {
	case "", "function_failed", "function_timeout", "function_out_of_memory", "internal", "unavailable":
		return "", false
	case "unauthenticated", "forbidden", "invalid_token", "invalid_signature", "replayed",
		"insufficient_scope", "source_not_allowed", "identity_unavailable":
		return "auth", true
	case "rate_limited":
		return "rate", true
	case "concurrency_limited", "owner_concurrency_limited":
		return "concurrency", true
	case "budget_exhausted":
		return "budget", true
	case "invalid_input", "unsupported_media_type", "body_too_large", "bad_request", "invalid_event", "idempotency_key_reused":
		return "input", true
	case "call_depth_exceeded":
		return "call_depth", true
	case "call_count_exceeded":
		return "call_count", true
	case "route_not_found", "method_not_allowed", "function_not_found":
		return "route", true
	case "function_quarantined":
		return "quarantine", true
	case "edge_not_allowed", "callback_not_allowed":
		return "flow", true
	}
	return "other", true
}

// Ran reports whether the call of r reached the function (successfully or
// not), rather than being refused before it. Only a call that reached the
// function names the module it ran (Digest): a queued call's 202 and a
// read of its status name the function but ran nothing.
func Ran(r Record) bool {
	_, refused := RefusalReason(r.Code)
	return !refused && r.Function != "" && r.Digest != ""
}

// SubjectPrefix is the subject prefix of the records of each function.
const SubjectPrefix = "pave.calls."

// Retention is how long and how much history the stream keeps; the oldest
// records go first.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// StreamConfig is the configuration of the history stream.
func StreamConfig(r Retention) store.StreamConfig {
	return store.StreamConfig{
		Name:       "pave_invocations",
		Subjects:   []string{SubjectPrefix + ">"},
		MaxAge:     r.MaxAge,
		MaxBytes:   r.MaxBytes,
		MaxMsgSize: store.MaxPayload,
	}
}

// Options tune a History.
type Options struct {
	// FlushInterval is how often queued records are written; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// MaxQueued bounds the queue; records beyond it are dropped and
	// counted. 0 means DefaultMaxQueued.
	MaxQueued int
	Log       *slog.Logger
}

// Defaults of Options.
const (
	DefaultFlushInterval = 250 * time.Millisecond
	DefaultMaxQueued     = 50000
)

// maxBatchBytes bounds one stored message, under the store's payload limit.
const maxBatchBytes = store.MaxPayload - 64<<10

// History queues, writes and reads invocation records.
type History struct {
	stream   *store.Stream
	interval time.Duration
	max      int
	log      *slog.Logger

	mu      sync.Mutex
	queue   map[string][]Record // by function
	queued  int
	flushMu sync.Mutex // one flush at a time

	dropped atomic.Int64
	stored  atomic.Int64

	// briefs holds the batches Query.Brief read, decoded: a stored batch
	// never changes, and the console's overview reads a day of every
	// function's records on each view.
	briefMu      sync.Mutex
	briefs       map[batchID][]briefRecord
	briefRecords int
}

// batchID names a stored batch: its sequence, and its time in case the
// stream was made anew and numbers its messages from 1 again.
type batchID struct {
	seq  uint64
	time int64
}

// maxBriefRecords bounds the decoded records History keeps (about 100
// bytes each); past it, it forgets them all and starts again.
const maxBriefRecords = 250_000

// New returns a History over s, a stream opened with StreamConfig. Call
// Run to write the queue in the background, or Flush.
func New(s *store.Stream, opts Options) *History {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &History{stream: s, interval: opts.FlushInterval, max: opts.MaxQueued, log: opts.Log, queue: map[string][]Record{}}
}

// Observe queues r to be written with the next flush; it never blocks. A
// record without a function (a request that matched no route) is not kept.
func (h *History) Observe(r Record) {
	if r.Function == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.queued >= h.max {
		h.dropped.Add(1)
		return
	}
	h.queue[r.Function] = append(h.queue[r.Function], r)
	h.queued++
}

// Dropped is how many records were dropped because the queue was full or
// could not be written.
func (h *History) Dropped() int64 { return h.dropped.Load() }

// Stored is how many records were written.
func (h *History) Stored() int64 { return h.stored.Load() }

// Run flushes every FlushInterval until ctx ends, then once more with a
// short deadline.
func (h *History) Run(ctx context.Context) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := h.Flush(fctx); err != nil {
				h.log.Warn("invocation history: final flush failed", "err", err)
			}
			return
		case <-t.C:
			if err := h.Flush(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("invocation history: flush failed", "err", err)
			}
		}
	}
}

// Flush writes every queued record now. Records it could not write are
// dropped and counted.
func (h *History) Flush(ctx context.Context) error {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()
	h.mu.Lock()
	queue := h.queue
	h.queue, h.queued = map[string][]Record{}, 0
	h.mu.Unlock()

	var errs []error
	for fn, recs := range queue {
		for len(recs) > 0 {
			batch, n := encodeBatch(recs)
			recs = recs[n:]
			if _, err := h.stream.Publish(ctx, SubjectPrefix+fn, "", nil, batch); err != nil {
				h.dropped.Add(int64(n))
				errs = append(errs, fmt.Errorf("%s: %w", fn, err))
				continue
			}
			h.stored.Add(int64(n))
		}
	}
	return errors.Join(errs...)
}

// encodeBatch encodes records as JSON lines, as many as fit in one message
// (at least one), and returns how many it took.
func encodeBatch(recs []Record) ([]byte, int) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	n := 0
	for _, r := range recs {
		before := buf.Len()
		if err := enc.Encode(r); err != nil {
			n++ // cannot happen for these types; skip the record
			continue
		}
		if buf.Len() > maxBatchBytes && n > 0 {
			buf.Truncate(before)
			break
		}
		n++
	}
	return buf.Bytes(), n
}

// Query selects records.
type Query struct {
	// Function whose records to read; required unless AllFunctions.
	Function string
	// AllFunctions reads every function's records, in the order they
	// were stored, in one pass over the stream: reading each function's
	// in turn makes the store walk the stream once per function.
	AllFunctions bool
	// Brief decodes only what counts a call: its time, function, digest,
	// status, error code, duration, caller and source; the other fields
	// are left empty.
	// Reading many records, it allocates a fraction of what whole ones
	// take.
	Brief bool
	// Since is the earliest time to read from; zero means the whole
	// history.
	Since time.Time
	// Status keeps only matching records; see ParseStatus.
	Status StatusFilter
	// Follow keeps reading new records until the context ends.
	Follow bool
}

// Read calls fn with each record of q, oldest first. An error from fn
// stops it and is returned.
func (h *History) Read(ctx context.Context, q Query, fn func(Record) error) error {
	subject := SubjectPrefix + ">"
	if !q.AllFunctions {
		if q.Function == "" || strings.ContainsAny(q.Function, ".*> \t") {
			return fmt.Errorf("invalid function name")
		}
		subject = SubjectPrefix + q.Function
	}
	opts := store.ScanOptions{Subjects: []string{subject}, Since: q.Since, Follow: q.Follow}
	// A batch is stored when it is flushed, after its records happened:
	// start one interval early and filter by the records' own times.
	if !q.Since.IsZero() {
		opts.Since = q.Since.Add(-2 * h.interval)
	}
	return h.scan(ctx, opts, q.Since, q.Status, q.Brief, fn)
}

// scan calls fn with each record of the batches opts selects that
// happened at or after since and whose status matches, decoded whole or,
// when brief, as Query.Brief says.
func (h *History) scan(ctx context.Context, opts store.ScanOptions, since time.Time, status StatusFilter, brief bool, fn func(Record) error) error {
	return h.stream.Scan(ctx, opts, func(m store.Message) error {
		if brief {
			for _, b := range h.briefBatch(m) {
				r := Record{Time: b.Time, Function: b.Function, Digest: b.Digest, Status: b.Status, Code: b.Code, DurationMS: b.DurationMS,
					Caller: b.Caller, Source: b.Source}
				if r.Time.Before(since) || !status.Match(r.Status) {
					continue
				}
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		}
		// A batch is JSON lines. One decoder reads them all: it scans
		// each once and reuses its state, where json.Unmarshal per line
		// scans each twice and allocates anew.
		dec := json.NewDecoder(bytes.NewReader(m.Data))
		for dec.More() {
			var r Record
			if err := dec.Decode(&r); err != nil {
				if stop := decodeStops(err); stop {
					return nil
				}
				continue
			}
			if r.Time.Before(since) || !status.Match(r.Status) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// decodeStops says whether a decoding error ends the batch: a syntax
// error does (what follows cannot be read), a record this version cannot
// read does not.
func decodeStops(err error) bool {
	var syntax *json.SyntaxError
	return errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF)
}

// briefBatch returns m's records decoded as Query.Brief reads them, from
// the cache when they are in it.
func (h *History) briefBatch(m store.Message) []briefRecord {
	id := batchID{m.Sequence, m.Time.UnixNano()}
	h.briefMu.Lock()
	recs, ok := h.briefs[id]
	h.briefMu.Unlock()
	if ok {
		return recs
	}
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	for dec.More() {
		var b briefRecord
		if err := dec.Decode(&b); err != nil {
			if decodeStops(err) {
				break
			}
			continue
		}
		recs = append(recs, b)
	}
	h.briefMu.Lock()
	defer h.briefMu.Unlock()
	if h.briefs == nil || h.briefRecords+len(recs) > maxBriefRecords {
		h.briefs, h.briefRecords = map[batchID][]briefRecord{}, 0
	}
	if _, ok := h.briefs[id]; !ok {
		h.briefs[id] = recs
		h.briefRecords += len(recs)
	}
	return recs
}

// briefRecord is the part of a Record that Query.Brief decodes.
type briefRecord struct {
	Time       time.Time `json:"time"`
	Function   string    `json:"function"`
	Digest     string    `json:"module_digest"`
	Status     int       `json:"status"`
	Code       string    `json:"error_code"`
	DurationMS float64   `json:"duration_ms"`
	Caller     string    `json:"caller"`
	Source     string    `json:"source"`
}

// StatusFilter matches response statuses; the zero value matches all.
type StatusFilter struct {
	class int // 1 to 5 for "1xx" to "5xx"
	exact int
}

// ParseStatus parses a status filter: "" (all), a status such as "404", or
// a class such as "5xx".
func ParseStatus(s string) (StatusFilter, error) {
	switch {
	case s == "":
		return StatusFilter{}, nil
	case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
		return StatusFilter{class: int(s[0] - '0')}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return StatusFilter{}, fmt.Errorf("invalid status filter %q: use a status such as 404 or a class such as 5xx", s)
	}
	return StatusFilter{exact: n}, nil
}

// Match reports whether status passes the filter.
func (f StatusFilter) Match(status int) bool {
	switch {
	case f.exact != 0:
		return status == f.exact
	case f.class != 0:
		return status/100 == f.class
	}
	return true
}
