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

// TestSettleKeepsEveryRunCounted writes an attempt's outcome after another
// copy of the job claimed the record meanwhile, as one does that judges
// the attempt interrupted: the record keeps the larger count of attempts,
// and of the two states the final one, or else the other copy's.
func TestSettleKeepsEveryRunCounted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"none": {ok200}})
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		ours, theirs State
		want         State
		kept         bool
	}{
		{"ours final", Succeeded, Running, Succeeded, true},
		{"theirs running", Retrying, Running, Running, false},
		{"theirs final", Dead, Succeeded, Succeeded, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Call{ID: h.q.ids.Random(), Function: "none", State: Running, Attempts: 1}
			rev, err := h.q.claim(ctx, &c, 0)
			if err != nil {
				t.Fatal(err)
			}
			other := c
			other.State, other.Attempts, other.Interrupted = tt.theirs, 2, 1
			if _, err := h.q.claim(ctx, &other, rev); err != nil {
				t.Fatal(err)
			}
			c.State = tt.ours
			kept, err := h.q.settle(ctx, &c, rev)
			if err != nil || kept != tt.kept {
				t.Fatalf("settle = %v, %v; want kept %v", kept, err, tt.kept)
			}
			got, _, err := h.q.get(ctx, c.ID)
			if err != nil || got.State != tt.want || got.Attempts != 2 || got.Interrupted != 1 {
				t.Fatalf("record %+v, %v; want %s after 2 attempts, 1 interrupted", got, err, tt.want)
			}
		})
	}
}

// TestSettleLeavesTheOtherCopysClaim settles, in turn, the outcomes of two
// copies of a job: the first copy's attempt, judged interrupted, fails
// after the second copy claimed the record, and the second copy's attempt
// then fails too. The first adds nothing to the record, so it leaves it alone:
// a write would move the revision the second copy's claim holds, and the
// second would then take its own claim for a third copy's and drop its
// outcome, leaving the call running for good.
func TestSettleLeavesTheOtherCopysClaim(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string][]Outcome{"none": {ok200}})
	ctx := context.Background()
	first := Call{ID: h.q.ids.Random(), Function: "none", State: Running, Attempts: 1}
	rev1, err := h.q.claim(ctx, &first, 0)
	if err != nil {
		t.Fatal(err)
	}
	second := first
	second.Attempts, second.Interrupted = 2, 1
	rev2, err := h.q.claim(ctx, &second, rev1)
	if err != nil {
		t.Fatal(err)
	}
	first.State = Retrying
	if kept, err := h.q.settle(ctx, &first, rev1); err != nil || kept {
		t.Fatalf("the first copy's settle = %v, %v; want not kept", kept, err)
	}
	second.State = Retrying
	if kept, err := h.q.settle(ctx, &second, rev2); err != nil || !kept {
		t.Fatalf("the second copy's settle = %v, %v; want kept", kept, err)
	}
	got, _, err := h.q.get(ctx, first.ID)
	if err != nil || got.State != Retrying || got.Attempts != 2 {
		t.Fatalf("record %+v, %v; want retrying after 2 attempts", got, err)
	}
}
