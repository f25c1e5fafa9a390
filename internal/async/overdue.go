package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// A retry is the server's to deliver: the worker hands the job back with
// a delay and the consumer redelivers it when the delay ends. A retry the
// server loses (seen once in several runs of killing a NATS server of a
// cluster with SIGKILL: a call left retrying with its next attempt due and
// no other delivery of its job) would leave the call waiting for good, a
// promise broken with no error anywhere. So every retry is also noted in
// a bucket of its own, and one node sweeps that bucket: a retry overdue by
// more than overdueGrace is queued again from the job's message. A copy of
// a job is harmless: the record's compare-and-set lets one run it, and if
// the late original comes while that copy still runs, settle counts both
// runs.
//
// The note is one write for each failed attempt, not for each call, and is
// removed by the sweep once the call has moved on.

// RetriesBucket names the bucket of retries waiting for their delivery.
const RetriesBucket = "pave_retries"

// sweepBatch bounds the notes one sweep reads; the sweep forgets those of
// calls that moved on, so the next one reaches the rest.
const sweepBatch = 10_000

// retryNote is what the retries bucket keeps of a call waiting for a
// retry: where its job is, and when the attempt is due.
type retryNote struct {
	Sequence uint64    `json:"sequence"`
	Attempts int       `json:"attempts"`
	Due      time.Time `json:"due"`
}

// overdueGrace is how long past its due time a retry is waited for before
// it is queued again: three acknowledgement waits, which cover a delivery
// to a worker that died, and half a minute for a store that is slow
// rather than at fault. A retry that was only late is then run by
// whichever copy claims the record first; settle keeps the count of
// attempts true if both run.
func (q *Queue) overdueGrace() time.Duration { return 3*q.ackWait() + 30*time.Second }

// Sweep runs SweepOverdue once every acknowledgement wait (a second at
// least) until ctx ends, on this node only while leads reports that it
// leads (one node of a cluster sweeps).
func (q *Queue) Sweep(ctx context.Context, leads func() bool) {
	t := time.NewTicker(max(q.ackWait(), time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !leads() {
			continue
		}
		if _, err := q.SweepOverdue(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("async retries not swept", "err", err)
		}
	}
}

// noteRetry records that c waits for a retry of the job at seq.
func (q *Queue) noteRetry(ctx context.Context, c *Call, seq uint64) {
	if q.retries == nil || seq == 0 {
		return
	}
	data, _ := json.Marshal(retryNote{Sequence: seq, Attempts: c.Attempts, Due: c.NextAttempt})
	if _, err := q.retries.Put(ctx, c.ID, data); err != nil {
		// The retry still stands; only the sweep's safety net is missing.
		q.log.Warn("async retry not noted", "call_id", c.ID, "err", err)
	}
}

// SweepOverdue queues again every retry overdue by more than its grace,
// and forgets the notes of calls that have moved on. It returns how many
// jobs it queued again.
func (q *Queue) SweepOverdue(ctx context.Context) (int, error) {
	if q.retries == nil {
		return 0, nil
	}
	keys, _, err := q.retries.Keys(ctx, "", sweepBatch)
	if err != nil {
		return 0, fmt.Errorf("list retries: %w", err)
	}
	requeued := 0
	var errs []error
	for _, id := range keys {
		n, err := q.sweepOne(ctx, id)
		requeued += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return requeued, errors.Join(errs...)
}

func (q *Queue) sweepOne(ctx context.Context, id string) (int, error) {
	e, err := q.retries.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var note retryNote
	if json.Unmarshal(e.Value, &note) != nil || !ValidID(id) {
		return 0, q.forget(ctx, id, e.Revision)
	}
	c, _, err := q.get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, q.forget(ctx, id, e.Revision)
	case err != nil:
		return 0, err
	case c.State != Retrying || c.Attempts != note.Attempts:
		// The retry came (or the call was re-driven): nothing to watch.
		return 0, q.forget(ctx, id, e.Revision)
	case q.now().Before(note.Due.Add(q.overdueGrace())):
		return 0, nil
	}
	m, err := q.jobs.Get(ctx, note.Sequence)
	if errors.Is(err, store.ErrNotFound) {
		q.log.Error("async retry overdue and its job is gone", "call_id", id, "sequence", note.Sequence)
		return 0, q.forget(ctx, id, e.Revision)
	}
	if err != nil {
		return 0, err
	}
	// One copy per attempt: the message id makes a second sweep of the
	// same overdue retry queue nothing.
	msgID := fmt.Sprintf("%s.overdue.%d", id, note.Attempts)
	_, err = q.jobs.Publish(ctx, m.Subject, msgID, nil, m.Data)
	if errors.Is(err, store.ErrDuplicate) {
		return 0, nil // queued by an earlier sweep, not run yet
	}
	if err != nil {
		return 0, fmt.Errorf("queue overdue retry %s: %w", id, err)
	}
	q.requeued.Add(1)
	q.log.Warn("async retry overdue: its job was queued again", "call_id", id, "function", c.Function,
		"attempts", c.Attempts, "due", note.Due)
	return 1, nil
}

// Requeued returns how many overdue retries this queue has queued again
// since it was made.
func (q *Queue) Requeued() int64 { return q.requeued.Load() }

// forget removes the note of call id, unless it was written again since
// it was read at rev.
func (q *Queue) forget(ctx context.Context, id string, rev uint64) error {
	err := q.retries.Delete(ctx, id, rev)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
