package triggers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/store"
)

// fakeQueue keeps submissions by id, as the real queue does: a second
// submit of an id queues nothing.
type fakeQueue struct {
	mu    sync.Mutex
	jobs  map[string]async.Submission
	order []string
	dead  []async.Failure
}

func (q *fakeQueue) Submit(_ context.Context, s async.Submission) (async.Call, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.jobs[s.ID]; ok {
		return async.Call{ID: s.ID}, true, nil
	}
	q.jobs[s.ID] = s
	q.order = append(q.order, s.ID)
	return async.Call{ID: s.ID}, false, nil
}

func (q *fakeQueue) DeadLetter(_ context.Context, _ *async.Job, f async.Failure, _ int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dead = append(q.dead, f)
	return nil
}

// ticks returns the ticks queued, in order.
func (q *fakeQueue) ticks(t *testing.T) []string {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, id := range q.order {
		s := q.jobs[id]
		for _, h := range s.Request.Headers {
			if h.Name == HeaderTick {
				out = append(out, h.Value)
			}
		}
	}
	return out
}

type fakeFunctions []*registry.Function

func (f fakeFunctions) List() []*registry.Function { return f }
func (f fakeFunctions) Get(name string) (*registry.Function, bool) {
	for _, fn := range f {
		if fn.Name == name {
			return fn, true
		}
	}
	return nil, false
}
func (fakeFunctions) Blob(context.Context, string) ([]byte, error) { return nil, store.ErrNotFound }

func scheduled(missed string) fakeFunctions {
	return fakeFunctions{{
		Name: "report", Active: 1,
		Versions: []registry.Version{{Number: 1, Triggers: []manifest.Trigger{{Schedule: "*/5 * * * *", Timezone: "UTC", Missed: missed}}}},
	}}
}

// clockTest holds the store and queue that outlive one scheduler, as they
// outlive a daemon's restart.
type clockTest struct {
	kv    *store.KV
	queue *fakeQueue
	ids   async.IDs
}

func newClockTest(t *testing.T) *clockTest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	kv, err := n.KV(ctx, ScheduleState)
	if err != nil {
		t.Fatal(err)
	}
	return &clockTest{kv: kv, queue: &fakeQueue{jobs: map[string]async.Submission{}}, ids: async.NewIDs([]byte("thirty-two bytes of test id key."))}
}

// boot starts a scheduler at now, as a daemon's start does.
func (c *clockTest) boot(fns fakeFunctions, now time.Time) *scheduler {
	d := New(Deps{Schedules: c.kv, Functions: fns, Queue: c.queue, IDs: c.ids})
	d.now = func() time.Time { return now }
	s := newScheduler(d)
	s.reconcile(context.Background(), fns)
	return s
}

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func TestScheduleFiresEachTickOnce(t *testing.T) {
	c := newClockTest(t)
	ctx := context.Background()
	s := c.boot(scheduled(manifest.MissedSkip), t0.Add(time.Second))
	// The scheduler looks again at least every minute.
	if w := s.wait(t0.Add(time.Second)); w != time.Minute {
		t.Errorf("wait at 10:00:01 %v, want 1m", w)
	}
	if w := s.wait(t0.Add(4*time.Minute + 30*time.Second)); w != 30*time.Second {
		t.Errorf("wait at 10:04:30 %v, want 30s", w)
	}
	// The timer fires late, then twice for the same tick.
	for _, now := range []time.Duration{5*time.Minute + 300*time.Millisecond, 5*time.Minute + time.Second, 10 * time.Minute} {
		s.fire(ctx, t0.Add(now))
	}
	want := []string{"2026-12-02T10:05:00Z", "2026-12-02T10:10:00Z"}
	if got := c.queue.ticks(t); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ticks %v, want %v", got, want)
	}
}

// TestScheduleRestartInsideATick restarts the scheduler within the tick it
// fired, once after saving the tick and once as if it died before saving.
func TestScheduleRestartInsideATick(t *testing.T) {
	c := newClockTest(t)
	ctx := context.Background()
	fns := scheduled(manifest.MissedSkip)
	s := c.boot(fns, t0.Add(time.Second))
	s.fire(ctx, t0.Add(5*time.Minute))
	c.boot(fns, t0.Add(5*time.Minute+2*time.Second)).fire(ctx, t0.Add(5*time.Minute+3*time.Second))

	// Died after queueing 10:05 but before saving it: the state says 10:00.
	if _, err := c.kv.Put(ctx, stateKey("report", fns[0].Current().Triggers[0].Key()), []byte("2026-12-02T10:00:00Z")); err != nil {
		t.Fatal(err)
	}
	c.boot(fns, t0.Add(5*time.Minute+20*time.Second))
	if got := c.queue.ticks(t); len(got) != 1 || got[0] != "2026-12-02T10:05:00Z" {
		t.Errorf("ticks %v, want 10:05 once", got)
	}
}

func TestScheduleMissedTicks(t *testing.T) {
	for _, tt := range []struct {
		missed string
		want   []string
	}{
		{manifest.MissedSkip, nil},
		{manifest.MissedRunOnce, []string{"2026-12-02T13:00:00Z"}},
	} {
		t.Run(tt.missed, func(t *testing.T) {
			c := newClockTest(t)
			ctx := context.Background()
			fns := scheduled(tt.missed)
			c.boot(fns, t0.Add(time.Second)).fire(ctx, t0.Add(5*time.Minute))
			before := len(c.queue.ticks(t))
			// Down from 10:05 to 13:02: 35 ticks missed.
			s := c.boot(fns, t0.Add(3*time.Hour+2*time.Minute))
			got := c.queue.ticks(t)[before:]
			if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
				t.Errorf("after downtime queued %v, want %v", got, tt.want)
			}
			// Either way the next tick is the next one after now.
			s.fire(ctx, t0.Add(3*time.Hour+5*time.Minute))
			if all := c.queue.ticks(t); all[len(all)-1] != "2026-12-02T13:05:00Z" {
				t.Errorf("the next tick queued is %s, want 13:05", all[len(all)-1])
			}
		})
	}
}

func TestScheduleSkipsQuarantined(t *testing.T) {
	c := newClockTest(t)
	fns := scheduled(manifest.MissedSkip)
	fns[0].Quarantine = &registry.Quarantine{Reason: "investigating"}
	c.boot(fns, t0.Add(time.Second)).fire(context.Background(), t0.Add(5*time.Minute))
	if got := c.queue.ticks(t); len(got) != 0 {
		t.Errorf("a quarantined function's ticks were queued: %v", got)
	}
}

// TestScheduleFollowersLeaveTicksToTheLeader: of two schedulers sharing the
// store, the one that does not lead fires nothing while the leader fires
// each tick, and takes a tick over once the leader is TakeOver late with it.
func TestScheduleFollowersLeaveTicksToTheLeader(t *testing.T) {
	c := newClockTest(t)
	ctx := context.Background()
	fns := scheduled(manifest.MissedSkip)
	leader := c.boot(fns, t0.Add(time.Second))
	follower := c.boot(fns, t0.Add(time.Second))
	follower.d.d.Leads = func() bool { return false }
	followerQueue := &fakeQueue{jobs: map[string]async.Submission{}}
	follower.d.d.Queue = followerQueue

	// 10:05: the leader fires; the follower, a little later, moves on.
	leader.fire(ctx, t0.Add(5*time.Minute))
	follower.fire(ctx, t0.Add(5*time.Minute+time.Second))
	if got := followerQueue.ticks(t); len(got) != 0 {
		t.Fatalf("the follower fired %v while the leader did", got)
	}
	if want := t0.Add(10 * time.Minute); !follower.entries["report/"+fns[0].Current().Triggers[0].Key()].next.Equal(want) {
		t.Errorf("the follower's next tick is not 10:10 after the leader fired 10:05")
	}

	// 10:10: the leader is gone. Before TakeOver the follower waits; then
	// it fires the tick itself.
	follower.fire(ctx, t0.Add(10*time.Minute+time.Second))
	if got := followerQueue.ticks(t); len(got) != 0 {
		t.Fatalf("the follower fired %v before the leader was TakeOver late", got)
	}
	if w := follower.wait(t0.Add(10*time.Minute + time.Second)); w != TakeOver-time.Second {
		t.Errorf("the follower waits %v, want until the tick is TakeOver late", w)
	}
	follower.fire(ctx, t0.Add(10*time.Minute+TakeOver))
	if got := followerQueue.ticks(t); len(got) != 1 || got[0] != "2026-12-02T10:10:00Z" {
		t.Errorf("the follower fired %v, want the 10:10 tick the leader missed", got)
	}
	if got := c.queue.ticks(t); len(got) != 1 || got[0] != "2026-12-02T10:05:00Z" {
		t.Errorf("the leader fired %v, want 10:05 alone", got)
	}
}
