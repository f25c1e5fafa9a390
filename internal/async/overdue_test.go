package async

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestSweepQueuesALostRetryAgain loses a retry as a server could: the
// first attempt fails and hands the job back for an hour, which stands
// for a redelivery that never comes. The sweep leaves the retry alone
// until it is overdue by its grace, then queues the job again: the second
// attempt runs and the call succeeds, once. Later sweeps queue nothing and
// forget the note.
func TestSweepQueuesALostRetryAgain(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64 // how far the queue's clock is ahead
	h := newHarness(t, map[string][]Outcome{"lost": {trap, ok200}}, func(q *Queue) {
		q.run.policies = policies{"lost": {Retries: 2, Backoff: time.Hour}}
		q.now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	ctx := context.Background()
	c, _, err := h.q.Submit(ctx, submission("lost", "{}"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err = h.q.Get(ctx, c.ID)
		if err == nil && c.State == Retrying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not retrying: %+v, %v", c, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	sweep := func(want int) {
		t.Helper()
		n, err := h.q.SweepOverdue(ctx)
		if err != nil || n != want {
			t.Fatalf("SweepOverdue = %d, %v; want %d", n, err, want)
		}
	}
	sweep(0) // due in an hour
	ahead.Store(int64(time.Hour))
	sweep(0) // due, but within its grace
	ahead.Store(int64(time.Hour + h.q.overdueGrace() + time.Second))
	sweep(1)
	sweep(0) // the same overdue retry is queued once
	if n := h.q.Requeued(); n != 1 {
		t.Errorf("Requeued() = %d, want 1", n)
	}

	c = h.final(t, c.ID)
	if c.State != Succeeded || c.Attempts != 2 || h.runner.runsOf(c.ID) != 2 {
		t.Fatalf("after the sweep: %s after %d attempts, %d runs; want succeeded after 2", c.State, c.Attempts, h.runner.runsOf(c.ID))
	}
	sweep(0)
	if keys, _, err := h.q.retries.Keys(ctx, "", 10); err != nil || len(keys) != 0 {
		t.Fatalf("notes left after the call moved on: %v, %v", keys, err)
	}
}
