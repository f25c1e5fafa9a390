// Package async runs functions away from the request that asked for them:
// asynchronous HTTP calls, event deliveries and scheduled runs all become
// jobs in one JetStream stream, run by one worker with one policy of
// retries and one dead-letter stream.
//
// A job is durable before Submit returns (the embedded server has synced
// it to disk), so a 202 sent after Submit is a promise that survives a
// crash. The worker acknowledges a job only after its outcome is recorded,
// so a job cut short by a crash is delivered again; the call record, keyed
// by the job's id, makes a job that already finished a no-op the second
// time, and a worker claims the record with a compare-and-set before it
// runs the job, so two copies of a job do not run at once unless the first
// outlasts the acknowledgement wait and is judged interrupted; an
// attempt's outcome is written with a compare-and-set too, so the record
// counts every run. A retry is noted where one node sweeps for retries
// the server did not deliver (overdue.go). Ids derived from an idempotency key, an event id or a schedule tick
// make a repeated submit of the same work land on the same record: the
// queue's duplicate window and the record's create-if-absent refuse the
// copy.
//
// The one case this cannot make exactly-once is a crash while a function
// runs: the attempt is run again, as the next attempt (at-least-once
// execution, recorded once).
//
// A call may name a callback URL: a Sender posts the final call record
// there, signed with the secret the function's manifest names, and only
// to the hosts the manifest's async.callbacks grant.
package async

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/store"
)

// State is where a call is in its life.
type State string

// States of a call. Succeeded, Failed and Dead are final.
const (
	Queued    State = "queued"
	Running   State = "running"
	Retrying  State = "retrying"  // failed; another attempt is due at NextAttempt
	Succeeded State = "succeeded" // the function answered with a status below 400
	Failed    State = "failed"    // the function answered with a 4xx: not retried
	Dead      State = "dead"      // gave up: in the dead-letter stream
)

// Final reports whether s is a state a call does not leave (short of being
// re-driven from the dead-letter stream).
func (s State) Final() bool { return s == Succeeded || s == Failed || s == Dead }

// Limits.
const (
	// MaxBody is the largest request body a job carries; a function's
	// own limit applies below it.
	MaxBody = 1 << 20
	// MaxResultBody is how much of a response body a call record keeps.
	MaxResultBody = 256 << 10
	// IdempotencyWindow is how long a submit with an idempotency key, an
	// event id or a schedule tick is recognised: the queue's duplicate
	// window. The call record, kept for CallRetention, recognises it for
	// longer while it lasts.
	IdempotencyWindow = 24 * time.Hour
	// CallRetention is how long a call record is kept after its last
	// change.
	CallRetention = 7 * 24 * time.Hour
	// DeadRetention is how long the dead-letter stream keeps a job.
	DeadRetention = 30 * 24 * time.Hour
	// MaxIdempotencyKey bounds the Idempotency-Key a client sends.
	MaxIdempotencyKey = 255
)

// Subjects of the streams.
const (
	jobPrefix  = "pave.async."
	deadPrefix = "pave.dlq."
)

// MaxQueueBytes bounds the queue; past it, submits are refused rather
// than older jobs dropped.
const MaxQueueBytes = 1 << 30

// JobsConfig is the configuration of the queue. It keeps jobs after they
// ran, for CallRetention, rather than being a work queue that deletes
// them: the server rebuilds its duplicate window from the messages it
// keeps when it restarts, and a job deleted once done would no longer
// stop its own copy.
func JobsConfig() store.StreamConfig {
	return store.StreamConfig{
		Name:       "pave_async",
		Subjects:   []string{jobPrefix + ">"},
		MaxAge:     CallRetention,
		MaxBytes:   MaxQueueBytes,
		MaxMsgSize: store.MaxPayload,
		Duplicates: IdempotencyWindow,
		DiscardNew: true,
	}
}

// DeadConfig is the configuration of the dead-letter stream.
func DeadConfig() store.StreamConfig {
	return store.StreamConfig{
		Name:       "pave_dlq",
		Subjects:   []string{deadPrefix + ">"},
		MaxAge:     DeadRetention,
		MaxMsgSize: store.MaxPayload,
	}
}

// CallsBucket names the bucket of call records, which expire
// CallRetention after their last change.
const CallsBucket = "pave_calls"

// A Job is one queued run of a function.
type Job struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	// Route is how the job reached the function: "POST /orders" for an
	// asynchronous call, "topic orders.created" or "schedule */5 * * * *"
	// for a trigger.
	Route string `json:"route"`
	// Trigger is the trigger's key (manifest.Trigger.Key) when a trigger
	// made the job; empty for an HTTP call.
	Trigger string `json:"trigger,omitempty"`
	Caller  string `json:"caller,omitempty"`
	Source  string `json:"source,omitempty"` // the client's address, for an HTTP call
	// Event is the id of the event a topic trigger delivers.
	Event string `json:"event,omitempty"`
	// Depth is the call depth the function runs at: 1 for a job from
	// outside, one more than the publisher's for an event a function
	// published.
	Depth int `json:"depth"`
	// Allowance is how many invocations the job may cause, its own
	// included: 0 for a job from outside (--max-calls-per-request), the
	// share of an event's allowance for a job a function's event made, -1
	// when the share is nothing (the job is refused).
	Allowance int `json:"allowance,omitempty"`
	// Callback is the URL the result is sent to, if any.
	Callback  string      `json:"callback,omitempty"`
	Digest    string      `json:"digest"` // of the request, to tell a reused idempotency key
	Submitted time.Time   `json:"submitted"`
	Request   abi.Request `json:"request"`
}

// Call is what is known of a job: its record, which the caller reads.
type Call struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	Route    string `json:"route"`
	Caller   string `json:"caller,omitempty"`
	State    State  `json:"state"`
	Attempts int    `json:"attempts"`
	// Interrupted counts the attempts cut short by the daemon stopping;
	// they are among Attempts, but use up no retry.
	Interrupted int       `json:"interrupted,omitempty"`
	Submitted   time.Time `json:"submitted"`
	Updated     time.Time `json:"updated"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Result is the function's response, once it answered.
	Result *Result `json:"result,omitempty"`
	// Error is why the last attempt failed or the call was given up.
	Error *Failure `json:"error,omitempty"`
	// Callback is the delivery of the result to the callback URL.
	Callback *Callback `json:"callback,omitempty"`
	Digest   string    `json:"digest,omitempty"`
	// CallsLeft is what the attempts so far left of the job's allowance
	// of invocations, for the next attempt: -1 nothing, 0 no attempt yet.
	CallsLeft int `json:"calls_left,omitempty"`
}

// Result is a function's response as a call record keeps it.
type Result struct {
	Status    int      `json:"status"`
	Headers   []Header `json:"headers,omitempty"`
	Body      []byte   `json:"body,omitempty"`
	Truncated bool     `json:"truncated,omitempty"` // the body was longer than MaxResultBody
}

// Header is one header field of a result.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Failure is an error code and its message, as the HTTP API words them.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Callback is the state of a call's callback.
type Callback struct {
	URL       string    `json:"url"`
	Delivered bool      `json:"delivered"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// Errors of Submit and Get.
var (
	// ErrIdempotencyReused: the key was used before with another request.
	ErrIdempotencyReused = errors.New("the idempotency key was used with a different request")
	ErrNotFound          = errors.New("no such call")
	ErrTooLarge          = fmt.Errorf("an asynchronous request body may be at most %d bytes", MaxBody)
)

// IDs makes call ids. Ids derived from a name (an idempotency key, an
// event id, a schedule tick) are keyed, so that nobody who lacks the key
// can compute the id of someone else's call from its idempotency key.
type IDs struct{ key []byte }

// NewIDs returns ids keyed with key, which should be at least 32 random
// bytes kept with the daemon's data.
func NewIDs(key []byte) IDs { return IDs{key: key} }

// Random returns a new random id.
func (IDs) Random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Derive returns the id named by parts: the same parts give the same id.
func (ids IDs) Derive(parts ...string) string {
	m := hmac.New(sha256.New, ids.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ValidID reports whether s has the form of a call id.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// digest identifies a request's content.
func digest(r *abi.Request) string {
	h := sha256.New()
	for _, s := range []string{r.Method, r.Path, r.RawQuery} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(r.Body)
	return hex.EncodeToString(h.Sum(nil))
}

// Submission is a job to queue.
type Submission struct {
	// ID, when set, names the job (a trigger derives it from the event
	// or the tick); otherwise it is derived from IdempotencyKey, or
	// random.
	ID             string
	IdempotencyKey string
	// IdempotencyScope is whose idempotency keys these are; empty means
	// Caller. An anonymous call's scope is its client's address, so that
	// anonymous callers do not share keys.
	IdempotencyScope string
	Function         string
	Route            string
	Trigger          string
	Event            string
	Caller           string
	Source           string
	Depth            int
	Allowance        int
	Callback         string
	Request          abi.Request
}

// Queue queues jobs and keeps their records. Run its worker with Run.
type Queue struct {
	jobs  *store.Stream
	dead  *store.Stream
	calls *store.KV
	// retries notes the calls waiting for a retry (overdue.go); nil
	// leaves the server alone to deliver them.
	retries *store.KV
	ids     IDs
	log     *slog.Logger
	now     func() time.Time
	run     runDeps
	cfg     Config
	// callbackPause is the pause after a callback's first failure; it
	// grows with each.
	callbackPause time.Duration
	// requeued counts the overdue retries queued again (overdue.go).
	requeued atomic.Int64
}

// Config tunes the worker.
type Config struct {
	// Workers is how many jobs run at once; zero means 8.
	Workers int
	// AckWait is how long a job taken by a worker that died waits before
	// another delivery; zero means 30 seconds.
	AckWait time.Duration
}

// Deps are what a Queue is built on.
type Deps struct {
	Jobs  *store.Stream // opened with JobsConfig
	Dead  *store.Stream // opened with DeadConfig
	Calls *store.KV     // the CallsBucket
	// Retries, the RetriesBucket, lets SweepOverdue queue again a retry
	// the server lost; nil goes without.
	Retries *store.KV
	IDs     IDs
	Log     *slog.Logger

	Policies  Policies
	Callbacks Callbacks // nil: callbacks are refused at submit
	// OnDead, if set, is told about every job given up.
	OnDead func(j *Job, f Failure)
}

// New returns a queue.
func New(d Deps, cfg Config) *Queue {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		jobs: d.Jobs, dead: d.Dead, calls: d.Calls, retries: d.Retries, ids: d.IDs, log: log, now: time.Now, cfg: cfg, callbackPause: time.Second,
		run: runDeps{policies: d.Policies, callbacks: d.Callbacks, onDead: d.OnDead},
	}
}

// Submit queues s and returns its call record once the job is durable.
// A submit whose id exists already (the same idempotency key, event or
// tick) queues nothing and returns the existing record with existing set;
// with a different request it fails with ErrIdempotencyReused.
func (q *Queue) Submit(ctx context.Context, s Submission) (c Call, existing bool, err error) {
	if len(s.Request.Body) > MaxBody {
		return Call{}, false, ErrTooLarge
	}
	id, named := s.ID, true
	switch {
	case id != "":
	case s.IdempotencyKey != "":
		id = q.ids.Derive("idempotency", s.Function, cmp.Or(s.IdempotencyScope, s.Caller), s.IdempotencyKey)
	default:
		id, named = q.ids.Random(), false
	}
	job := Job{
		ID: id, Function: s.Function, Route: s.Route, Trigger: s.Trigger, Event: s.Event, Caller: s.Caller,
		Source: s.Source, Depth: max(s.Depth, 1), Allowance: s.Allowance, Callback: s.Callback, Digest: digest(&s.Request),
		Submitted: q.now().UTC(), Request: s.Request,
	}
	// A random id is new work: only a named one may have been submitted
	// before.
	if named {
		if old, err := q.lookup(ctx, id); err == nil {
			if old.Digest != "" && old.Digest != job.Digest {
				return Call{}, false, ErrIdempotencyReused
			}
			return old, true, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Call{}, false, err
		}
	}
	data, err := json.Marshal(&job)
	if err != nil {
		return Call{}, false, err
	}
	// The job is the one write a submit makes: the call record is
	// created by the worker that claims the job, and until then Get reads
	// the job itself.
	_, err = q.jobs.Publish(ctx, jobSubject(id), id, nil, data)
	if errors.Is(err, store.ErrDuplicate) {
		// Published before, by a submit running at the same moment or
		// whose answer was lost: the job is queued once. Its record, or
		// the job, says whether the request was this one.
		existing, err = true, nil
		if old, gerr := q.lookup(ctx, id); gerr == nil {
			if old.Digest != "" && old.Digest != job.Digest {
				return Call{}, false, ErrIdempotencyReused
			}
			return old, true, nil
		}
	}
	if err != nil {
		return Call{}, false, fmt.Errorf("queue the call: %w", err)
	}
	return newCall(&job), existing, nil
}

// jobSubject is the subject of job id's message, by which Get finds a
// job whose record is not written yet. (Jobs queued before were stored
// under pave.async.<function>; each of those has its record.)
func jobSubject(id string) string { return jobPrefix + id }

func newCall(j *Job) Call {
	c := Call{
		ID: j.ID, Function: j.Function, Route: j.Route, Caller: j.Caller, State: Queued,
		Submitted: j.Submitted, Updated: j.Submitted, Digest: j.Digest,
	}
	if j.Callback != "" {
		c.Callback = &Callback{URL: j.Callback}
	}
	return c
}

// Get returns the record of call id: a queued call's, whose record the
// worker has not created yet, made from its job.
func (q *Queue) Get(ctx context.Context, id string) (Call, error) {
	return q.lookup(ctx, id)
}

// lookup returns the record of call id or, when there is none, the record
// of the queued job.
func (q *Queue) lookup(ctx context.Context, id string) (Call, error) {
	c, _, err := q.get(ctx, id)
	if !errors.Is(err, ErrNotFound) || !ValidID(id) {
		return c, err
	}
	m, err := q.jobs.Last(ctx, jobSubject(id))
	if errors.Is(err, store.ErrNotFound) {
		return Call{}, ErrNotFound
	}
	if err != nil {
		return Call{}, err
	}
	var j Job
	if err := json.Unmarshal(m.Data, &j); err != nil || j.ID != id {
		return Call{}, ErrNotFound
	}
	return newCall(&j), nil
}

// Recent returns the calls changed most recently, newest first, at most
// limit of them, from the scan records of the calls bucket written last;
// more reports that there are older ones.
func (q *Queue) Recent(ctx context.Context, limit, scan int) (calls []Call, more bool, err error) {
	more, err = q.calls.Newest(ctx, scan, func(e store.Entry) error {
		var c Call
		if json.Unmarshal(e.Value, &c) == nil && c.ID == e.Key {
			calls = append(calls, c)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(calls, func(a, b Call) int { return b.Updated.Compare(a.Updated) })
	return calls[:min(len(calls), limit)], more, nil
}

func (q *Queue) get(ctx context.Context, id string) (Call, uint64, error) {
	if !ValidID(id) {
		return Call{}, 0, ErrNotFound
	}
	e, err := q.calls.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Call{}, 0, ErrNotFound
	}
	if err != nil {
		return Call{}, 0, err
	}
	var c Call
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return Call{}, 0, fmt.Errorf("call record %s: %w", id, err)
	}
	return c, e.Revision, nil
}

// put writes c's record.
func (q *Queue) put(ctx context.Context, c *Call) error {
	c.Updated = q.now().UTC()
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = q.calls.Put(ctx, c.ID, data)
	return err
}
