package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/store"
)

// Runner runs a job's function with the defences of a call.
type Runner interface {
	RunJob(ctx context.Context, j *Job) Outcome
}

// Outcome is what became of one attempt.
type Outcome struct {
	// Response is the function's answer; nil when it did not answer.
	Response *abi.Response
	// Code and Message say why it did not answer.
	Code    apierror.Code
	Message string
	// RetryAfter, on a refusal that will pass (a rate or concurrency
	// limit), is when to try again; such an attempt does not count.
	RetryAfter time.Duration
	// CallsLeft is what the attempt left of the job's allowance of
	// invocations (-1: nothing; 0: not known), which a retry starts from.
	CallsLeft int
}

// Policy is how a function's failed jobs are retried.
type Policy struct {
	Retries int           // attempts after the first
	Backoff time.Duration // before the first retry; doubles each time
}

// MaxBackoff caps the delay between attempts.
const MaxBackoff = time.Hour

// Policies finds a function's retry policy; ok is false for a function
// that is not deployed.
type Policies interface {
	RetryPolicy(function string) (p Policy, ok bool)
}

// Callbacks sends a call's final record to its callback URL, under the
// rules of the function's callback grants.
type Callbacks interface {
	Send(ctx context.Context, function, url string, call []byte) error
}

type runDeps struct {
	policies  Policies
	callbacks Callbacks
	onDead    func(*Job, Failure)
}

// WorkerName is the durable name of the worker's consumer.
const WorkerName = "pave_async_worker"

// Run is the worker: it runs queued jobs through r until ctx ends. The
// runner is given here rather than to New because it is built after the
// queue: the gateway runs jobs and also submits them.
func (q *Queue) Run(ctx context.Context, r Runner) error {
	return q.jobs.Consume(ctx, store.ConsumerConfig{
		Name: WorkerName, Workers: q.cfg.Workers, AckWait: q.cfg.AckWait,
	}, func(ctx context.Context, d store.Delivery) store.Disposition { return q.handle(ctx, d, r) })
}

// retryable are the failures another attempt may not repeat.
var retryable = map[apierror.Code]bool{
	apierror.FunctionFailed:   true,
	apierror.FunctionTimeout:  true,
	apierror.FunctionOutOfMem: true,
	apierror.Unavailable:      true,
	apierror.Internal:         true,
}

// callbackTries is how often a callback is tried before it is given up.
const callbackTries = 3

// MaxInterruptions is how many attempts of a job may be cut short by its
// daemon stopping before the job is given up.
const MaxInterruptions = 10

// claimRetry is how soon a job whose record another worker claimed first
// is looked at again.
const claimRetry = 200 * time.Millisecond

func (q *Queue) ackWait() time.Duration {
	if q.cfg.AckWait > 0 {
		return q.cfg.AckWait
	}
	return 30 * time.Second
}

// claim writes c's record only if it is still at revision rev (0: only if
// there is none), so that of two workers holding copies of one job, one
// runs it. It returns the record's new revision.
func (q *Queue) claim(ctx context.Context, c *Call, rev uint64) (uint64, error) {
	c.Updated = q.now().UTC()
	data, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		return q.calls.Create(ctx, c.ID, data)
	}
	return q.calls.Update(ctx, c.ID, data, rev)
}

// settle writes c, the outcome of an attempt whose claim left the record
// at revision rev. Another copy of the job may have claimed the record
// since, having judged this attempt interrupted (it ran past the
// acknowledgement wait, on a slow store), and be running it again: then
// the record keeps the larger count of attempts, so that every run stays
// counted, and of the two states the final one, or else the other
// copy's; a copy that would add nothing leaves the record as the other
// copy wrote it. kept reports whether c's state is the one written; c is
// what the record holds.
func (q *Queue) settle(ctx context.Context, c *Call, rev uint64) (kept bool, err error) {
	kept = true
	for {
		if _, err := q.claim(ctx, c, rev); !errors.Is(err, store.ErrConflict) {
			return kept, err
		}
		cur, curRev, err := q.get(ctx, c.ID)
		if err != nil {
			return kept, err
		}
		attempts, interrupted := max(c.Attempts, cur.Attempts), max(c.Interrupted, cur.Interrupted)
		if cur.State.Final() || !c.State.Final() {
			*c, kept = cur, false
			if attempts == cur.Attempts && interrupted == cur.Interrupted {
				// Nothing to add: the record stays as the other copy
				// wrote it, and a write would take its claim's
				// revision from under it.
				return false, nil
			}
		}
		c.Attempts, c.Interrupted, rev = attempts, interrupted, curRev
	}
}

func (q *Queue) handle(ctx context.Context, d store.Delivery, runner Runner) store.Disposition {
	var j Job
	if err := json.Unmarshal(d.Data, &j); err != nil || !ValidID(j.ID) {
		q.log.Error("async job unreadable: dropped", "sequence", d.Sequence, "err", err)
		return store.Done()
	}
	if d.Attempt == 1 {
		// A job delivered the first time has, as a rule, no record yet:
		// the claim creates it without reading first, and fails if there
		// is one (a copy of the job, or a job re-driven), which is then
		// read as on any later delivery.
		if p, ok := q.run.policies.RetryPolicy(j.Function); ok {
			c := newCall(&j)
			c.State, c.Attempts = Running, 1
			rev, err := q.claim(ctx, &c, 0)
			if err == nil {
				return q.attempt(ctx, &j, &c, rev, p, runner, d.Sequence)
			}
			if !errors.Is(err, store.ErrExists) {
				return q.later(ctx, &j, err)
			}
		}
	}
	c, rev, err := q.get(ctx, j.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		c, rev = newCall(&j), 0
	case err != nil:
		return q.later(ctx, &j, err)
	}
	if c.State.Final() {
		// Finished by an earlier delivery whose acknowledgement was lost:
		// only a callback may be owed.
		q.callback(ctx, &j, &c)
		return store.Done()
	}
	p, ok := q.run.policies.RetryPolicy(j.Function)
	if !ok {
		return q.giveUp(ctx, &j, &c, 0, Failure{Code: string(apierror.FunctionNotFound), Message: "the function is no longer deployed"})
	}
	if c.State == Running {
		if q.now().Sub(c.Updated) < q.ackWait() {
			// A copy of this job may be running on a live worker; look
			// again once it would have been given up.
			return store.RetryAfter(q.ackWait())
		}
		// The previous attempt never finished: the daemon stopped under
		// it. That is not the function's failure, so it does not use up
		// a retry; but a job that keeps bringing its daemon down is given
		// up after MaxInterruptions.
		c.Interrupted++
		c.Error = &Failure{Code: string(apierror.Unavailable), Message: "the attempt was interrupted"}
		if c.Interrupted >= MaxInterruptions {
			return q.giveUp(ctx, &j, &c, 0, *c.Error)
		}
	}
	c.State, c.NextAttempt = Running, time.Time{}
	c.Attempts++
	rev, err = q.claim(ctx, &c, rev)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		// Another worker changed the record first: it has the job.
		return store.RetryAfter(claimRetry)
	} else if err != nil {
		return q.later(ctx, &j, err)
	}
	return q.attempt(ctx, &j, &c, rev, p, runner, d.Sequence)
}

// attempt runs j, whose record c the worker has claimed at revision rev,
// and records the outcome; seq is the sequence of j's message.
func (q *Queue) attempt(ctx context.Context, j *Job, c *Call, rev uint64, p Policy, runner Runner, seq uint64) store.Disposition {
	if c.CallsLeft != 0 {
		// A retry has what the attempts before it left, so that a job
		// failing on purpose cannot hand out its allowance once per
		// attempt.
		j.Allowance = c.CallsLeft
	}
	out := runner.RunJob(ctx, j)
	if ctx.Err() == nil && out.RetryAfter == 0 && out.CallsLeft != 0 {
		c.CallsLeft = out.CallsLeft
	}
	switch {
	case ctx.Err() != nil:
		// Stopping: the attempt was not the function's fault.
		c.Attempts--
		c.State = Queued
		_, _ = q.settle(context.WithoutCancel(ctx), c, rev)
		return store.RetryAfter(0)
	case out.RetryAfter > 0:
		c.Attempts--
		c.State = Queued
		if _, err := q.settle(ctx, c, rev); err != nil {
			return q.later(ctx, j, err)
		}
		return store.RetryAfter(out.RetryAfter)
	case out.Response != nil && out.Response.Status < 500:
		c.Result = result(out.Response)
		c.Error = nil
		if out.Response.Status < 400 {
			c.State = Succeeded
		} else {
			c.State = Failed
			if j.Trigger != "" {
				// Nobody reads a trigger's record: a refused event or tick
				// is kept where an operator looks.
				return q.giveUp(ctx, j, c, rev, Failure{Code: string(apierror.FunctionFailed), Message: fmt.Sprintf("the function answered %d", out.Response.Status)})
			}
		}
		if kept, err := q.settle(ctx, c, rev); err != nil {
			return q.later(ctx, j, err)
		} else if kept {
			q.callback(ctx, j, c)
		}
		return store.Done()
	}
	f := Failure{Code: string(out.Code), Message: out.Message}
	if out.Response != nil {
		c.Result = result(out.Response)
		f = Failure{Code: string(apierror.FunctionFailed), Message: fmt.Sprintf("the function answered %d", out.Response.Status)}
	}
	c.Error = &f
	if (out.Response != nil || retryable[out.Code]) && c.Attempts-c.Interrupted <= p.Retries {
		delay := backoff(p.Backoff, c.Attempts)
		c.State, c.NextAttempt = Retrying, q.now().Add(delay).UTC()
		kept, err := q.settle(ctx, c, rev)
		if err != nil {
			return q.later(ctx, j, err)
		}
		if !kept {
			// Another copy of the job runs the next attempt, or ran it.
			return store.Done()
		}
		q.noteRetry(ctx, c, seq)
		return store.RetryAfter(delay)
	}
	return q.giveUp(ctx, j, c, rev, f)
}

// backoff is the delay before attempt n+1: base doubled n-1 times, capped.
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// later retries a delivery whose outcome could not be recorded.
func (q *Queue) later(ctx context.Context, j *Job, err error) store.Disposition {
	q.log.Warn("async job postponed: its record cannot be written", "call_id", j.ID, "function", j.Function, "err", err)
	if ctx.Err() != nil {
		return store.RetryAfter(0)
	}
	return store.RetryAfter(time.Second)
}

// giveUp moves j to the dead-letter stream and marks its call dead; rev is
// the revision of the worker's claim of the record, 0 when it has none.
func (q *Queue) giveUp(ctx context.Context, j *Job, c *Call, rev uint64, f Failure) store.Disposition {
	if err := q.DeadLetter(ctx, j, f, c.Attempts); err != nil {
		return q.later(ctx, j, err)
	}
	c.State, c.Error, c.NextAttempt = Dead, &f, time.Time{}
	write := func() error { return q.put(ctx, c) }
	if rev != 0 {
		write = func() error { _, err := q.settle(ctx, c, rev); return err }
	}
	if err := write(); err != nil {
		// The dead letter is kept; the record says where it was last.
		q.log.Warn("async call record not updated", "call_id", j.ID, "err", err)
	}
	q.log.Warn("async job dead-lettered", "call_id", j.ID, "function", j.Function, "route", j.Route, "code", f.Code, "attempts", c.Attempts)
	if q.run.onDead != nil {
		q.run.onDead(j, f)
	}
	q.callback(ctx, j, c)
	return store.Done()
}

// DeadLetter headers.
const (
	headerCode     = "Pave-Dead-Code"
	headerReason   = "Pave-Dead-Reason"
	headerAttempts = "Pave-Dead-Attempts"
)

// DeadLetter stores j in the dead-letter stream with why it was given up.
// The message id makes storing the same attempt twice store it once.
func (q *Queue) DeadLetter(ctx context.Context, j *Job, f Failure, attempts int) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	h := map[string][]string{
		headerCode: {f.Code}, headerReason: {f.Message}, headerAttempts: {fmt.Sprint(attempts)},
	}
	_, err = q.dead.Publish(ctx, deadPrefix+j.Function, fmt.Sprintf("%s.%d", j.ID, attempts), h, data)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("dead-letter %s: %w", j.ID, err)
	}
	return nil
}

// result is the part of resp a record keeps.
func result(resp *abi.Response) *Result {
	r := &Result{Status: resp.Status, Body: resp.Body}
	for _, h := range resp.Headers {
		r.Headers = append(r.Headers, Header{Name: h.Name, Value: h.Value})
	}
	if len(r.Body) > MaxResultBody {
		r.Body, r.Truncated = r.Body[:MaxResultBody], true
	}
	return r
}

// callback sends c to j's callback URL once c is final, unless that was
// done. A callback that keeps failing is given up and noted on the record:
// the result stays readable with Get.
func (q *Queue) callback(ctx context.Context, j *Job, c *Call) {
	if c.Callback == nil || c.Callback.Delivered || c.Callback.Attempts >= callbackTries || q.run.callbacks == nil {
		return
	}
	body := callbackBody(c)
	for c.Callback.Attempts < callbackTries && ctx.Err() == nil {
		c.Callback.Attempts++
		err := q.run.callbacks.Send(ctx, j.Function, c.Callback.URL, body)
		c.Callback.At = q.now().UTC()
		if err == nil {
			c.Callback.Delivered, c.Callback.Error = true, ""
			break
		}
		c.Callback.Error = err.Error()
		if c.Callback.Attempts == callbackTries {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(c.Callback.Attempts) * q.callbackPause):
		}
	}
	if err := q.put(context.WithoutCancel(ctx), c); err != nil {
		q.log.Warn("async call record not updated", "call_id", c.ID, "err", err)
	}
}

// callbackBody is what a callback receives: the record, without the
// callback's own state.
func callbackBody(c *Call) []byte {
	cp := *c
	cp.Callback, cp.Digest = nil, ""
	b, _ := json.Marshal(&cp)
	return b
}

// DeadJob is a job in the dead-letter stream.
type DeadJob struct {
	Sequence uint64    `json:"sequence"`
	At       time.Time `json:"at"`
	Error    Failure   `json:"error"`
	Attempts int       `json:"attempts"`
	Job      Job       `json:"job"`
}

// Dead returns function's dead-lettered jobs, oldest first, at most limit
// of them (zero: all).
func (q *Queue) Dead(ctx context.Context, function string, limit int) ([]DeadJob, error) {
	var out []DeadJob
	err := q.dead.Scan(ctx, store.ScanOptions{Subjects: []string{deadPrefix + function}}, func(m store.Message) error {
		d, err := deadJob(m)
		if err != nil {
			return nil // not ours to read; skip it
		}
		out = append(out, d)
		if limit > 0 && len(out) >= limit {
			return store.StopScan()
		}
		return nil
	})
	return out, err
}

func deadJob(m store.Message) (DeadJob, error) {
	d := DeadJob{Sequence: m.Sequence, At: m.Time}
	if err := json.Unmarshal(m.Data, &d.Job); err != nil {
		return DeadJob{}, err
	}
	first := m.HeaderValue
	d.Error = Failure{Code: first(headerCode), Message: first(headerReason)}
	fmt.Sscan(first(headerAttempts), &d.Attempts)
	return d, nil
}

// ErrNotDead means a sequence number names no dead job of the function.
var ErrNotDead = errors.New("no such dead-lettered job")

// Redrive queues function's dead jobs with the sequence numbers seqs
// again, with a fresh count of attempts under their old call ids, and
// removes them from the dead-letter stream. It stops at the first it
// cannot re-drive and returns how many it did.
func (q *Queue) Redrive(ctx context.Context, function string, seqs []uint64) (int, error) {
	for i, seq := range seqs {
		m, err := q.dead.Get(ctx, seq)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.Subject != deadPrefix+function) {
			return i, fmt.Errorf("%w: %d", ErrNotDead, seq)
		}
		if err != nil {
			return i, err
		}
		d, err := deadJob(m)
		if err != nil {
			return i, fmt.Errorf("%w: %d is unreadable", ErrNotDead, seq)
		}
		c := newCall(&d.Job)
		if err := q.put(ctx, &c); err != nil {
			return i, err
		}
		// A new message id: the original is inside the duplicate window.
		if _, err := q.jobs.Publish(ctx, jobSubject(d.Job.ID), fmt.Sprintf("%s.redrive.%d", d.Job.ID, seq), nil, m.Data); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return i, fmt.Errorf("re-queue %d: %w", seq, err)
		}
		if err := q.dead.DeleteMessage(ctx, seq); err != nil {
			return i, err
		}
	}
	return len(seqs), nil
}
