package triggers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/store"
)

// LateGrace is how late a tick may be found, on start, and still count as
// due rather than missed: a daemon that restarts within it fires the tick
// whatever the missed-tick policy (the job id makes a tick fired before
// the restart run once all the same).
const LateGrace = time.Minute

// maxCatchUp bounds the ticks walked to find the latest one missed.
const maxCatchUp = 1_000_000

// TakeOver is how late a tick may be before a daemon that does not lead
// fires it itself, when the leader has not recorded it fired: the leader
// may have stopped and not yet dropped out of the daemons' list. The
// tick's job id makes it run once if the leader fired it after all.
const TakeOver = 30 * time.Second

// scheduler fires the schedule triggers.
type scheduler struct {
	d       *Dispatcher
	entries map[string]*entry
}

type entry struct {
	function string
	trigger  manifest.Trigger
	sched    manifest.Schedule
	next     time.Time // the next tick to fire; zero: none
	retry    time.Time // after a failed fire, not before this
}

func newScheduler(d *Dispatcher) *scheduler {
	return &scheduler{d: d, entries: map[string]*entry{}}
}

// stateKey is the key of a schedule's last tick.
func stateKey(function, key string) string {
	return function + "." + strings.ReplaceAll(key, ":", "_")
}

// reconcile adds the schedules of new triggers, catching up on their
// missed ticks, and drops those of removed ones.
func (s *scheduler) reconcile(ctx context.Context, fns []*registry.Function) {
	now := s.d.now()
	seen := map[string]bool{}
	for _, f := range fns {
		for _, t := range f.Current().Triggers {
			if t.Schedule == "" {
				continue
			}
			id := f.Name + "/" + t.Key()
			seen[id] = true
			if _, ok := s.entries[id]; ok {
				continue
			}
			sched, err := manifest.ParseSchedule(t.Schedule, t.Timezone)
			if err != nil {
				s.d.log.Error("schedule not run: it does not parse", "function", f.Name, "schedule", t.Schedule, "err", err)
				continue
			}
			e := &entry{function: f.Name, trigger: t, sched: sched}
			s.entries[id] = e
			s.start(ctx, e, now)
		}
	}
	for id := range s.entries {
		if !seen[id] {
			delete(s.entries, id)
		}
	}
}

// start finds e's next tick, first dealing with the ticks missed since the
// last one fired.
func (s *scheduler) start(ctx context.Context, e *entry, now time.Time) {
	e.next = e.sched.Next(now)
	last, ok := s.last(ctx, e)
	if !ok {
		return // a new schedule: its first tick is the next one
	}
	var latest time.Time
	for t, n := e.sched.Next(last), 0; !t.IsZero() && !t.After(now) && n < maxCatchUp; t, n = e.sched.Next(t), n+1 {
		latest = t
	}
	if latest.IsZero() {
		return
	}
	if now.Sub(latest) <= LateGrace || e.trigger.Missed == manifest.MissedRunOnce {
		s.fireTick(ctx, e, latest)
		return
	}
	s.d.log.Info("schedule ticks missed while the daemon was down are skipped", "function", e.function, "schedule", e.trigger.Schedule, "last_fired", last, "latest_missed", latest)
	s.save(ctx, e, latest)
}

// wait is how long until the next tick of any schedule, at most a minute.
func (s *scheduler) wait(now time.Time) time.Duration {
	d := time.Minute
	for _, e := range s.entries {
		if e.next.IsZero() {
			continue
		}
		at := e.next
		if e.retry.After(at) {
			at = e.retry
		}
		d = min(d, at.Sub(now))
	}
	return max(d, 0)
}

// fire fires every tick that is due. Where several daemons share the
// store, one leads and fires; the others look at the tick's state, move on
// once the leader recorded it fired, and fire it themselves once it is
// TakeOver late and still not recorded.
func (s *scheduler) fire(ctx context.Context, now time.Time) {
	lead := s.d.d.Leads == nil || s.d.d.Leads()
	for _, e := range s.entries {
		for n := 0; !e.next.IsZero() && !e.next.After(now) && !e.retry.After(now) && n < 100; n++ {
			if !lead {
				if last, ok := s.last(ctx, e); ok && !last.Before(e.next) {
					e.next = e.sched.Next(e.next) // the leader fired it
					continue
				}
				if now.Sub(e.next) < TakeOver {
					e.retry = e.next.Add(TakeOver)
					break
				}
				s.d.log.Info("schedule tick not fired by the leading daemon in time: fired here", "function", e.function, "tick", e.next)
			}
			if !s.fireTick(ctx, e, e.next) {
				e.retry = now.Add(time.Second)
				break
			}
			e.next = e.sched.Next(e.next)
		}
	}
}

// fireTick queues the job of e's tick and saves the tick as the last one.
func (s *scheduler) fireTick(ctx context.Context, e *entry, tick time.Time) bool {
	if f, ok := s.d.d.Functions.Get(e.function); ok && f.Quarantine != nil {
		s.d.log.Debug("schedule tick skipped: the function is quarantined", "function", e.function, "tick", tick)
		s.save(ctx, e, tick)
		return true
	}
	at := tick.UTC().Format(time.RFC3339)
	key := e.trigger.Key()
	_, existing, err := s.d.d.Queue.Submit(ctx, async.Submission{
		ID:       s.d.d.IDs.Derive("schedule", e.function, key, at),
		Function: e.function,
		Route:    "schedule " + e.trigger.Schedule,
		Trigger:  key,
		Caller:   "schedule",
		Depth:    1,
		Request: abi.Request{
			Method: "POST", Path: "/", Caller: "schedule",
			Headers: []abi.Header{
				{Name: HeaderTrigger, Value: "schedule " + e.trigger.Schedule},
				{Name: HeaderTick, Value: at},
			},
		},
	})
	if err != nil {
		s.d.log.Warn("schedule tick not queued; retrying", "function", e.function, "tick", at, "err", err)
		return false
	}
	if existing {
		s.d.log.Debug("schedule tick fired before", "function", e.function, "tick", at)
	}
	s.save(ctx, e, tick)
	return true
}

func (s *scheduler) last(ctx context.Context, e *entry) (time.Time, bool) {
	entry, err := s.d.d.Schedules.Get(ctx, stateKey(e.function, e.trigger.Key()))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.d.log.Warn("schedule state unreadable: missed ticks are not caught up", "function", e.function, "err", err)
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, string(entry.Value))
	return t, err == nil
}

func (s *scheduler) save(ctx context.Context, e *entry, tick time.Time) {
	_, err := s.d.d.Schedules.Put(ctx, stateKey(e.function, e.trigger.Key()), []byte(tick.UTC().Format(time.RFC3339)))
	if err != nil {
		// The next start may fire this tick again; its job id makes
		// that a no-op.
		s.d.log.Warn("schedule state not saved", "function", e.function, "err", err)
	}
}
