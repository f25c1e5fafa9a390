package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/secret"
)

func TestNewRefusesBadKeys(t *testing.T) {
	for _, key := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "!!!!"} {
		if _, err := New(&MemLog{}, secret.Value(key), Options{}); !errors.Is(err, ErrBadKey) {
			t.Errorf("key %q: %v, want ErrBadKey", key, err)
		}
	}
	if _, err := New(nil, testKey(t), Options{}); err == nil {
		t.Error("New accepted a nil log")
	}
}

func TestRecordFillsTheChain(t *testing.T) {
	f := newFixture(t, -1) // no automatic seals
	f.record(t, 1, 3)
	var prev Hash
	for i, e := range f.log.entries {
		r := mustDecode(t, e.Data)
		if r.Seq != uint64(i+1) || r.Event.Seq != r.Seq || r.Prev != prev || r.Time.IsZero() || !r.Event.Time.Equal(r.Time) {
			t.Fatalf("record %d: %+v", i+1, r)
		}
		prev = r.Hash
	}
	if len(f.log.entries) != 3 || f.head.data != nil {
		t.Fatalf("%d records, head %q: SealEvery -1 must not seal", len(f.log.entries), f.head.data)
	}

	// Seal seals once; again is a no-op.
	f.seal(t)
	f.seal(t)
	if len(f.log.entries) != 4 || mustDecode(t, f.log.entries[3].Data).Kind != KindSeal {
		t.Fatalf("after two Seals: %d records", len(f.log.entries))
	}
	if h, err := verifyHead(f.a.ring, f.head.data); err != nil || h.Seq != 4 || h.Hash != mustDecode(t, f.log.entries[3].Data).Hash {
		t.Fatalf("head %+v, %v", h, err)
	}
	// Sealing an empty log does nothing.
	empty := newFixture(t, 0)
	empty.seal(t)
	if len(empty.log.entries) != 0 || empty.head.data != nil {
		t.Fatal("sealed an empty log")
	}
}

func TestRecordRefusesInvalidEvents(t *testing.T) {
	f := newFixture(t, 0)
	tests := []struct {
		name string
		ev   Event
	}{
		{"no action", Event{Actor: ActorAdmin}},
		{"no area", NewEvent(ActorAdmin, "deploy", "")},
		{"uppercase action", NewEvent(ActorAdmin, "Function.Deploy", "")},
		{"no actor", NewEvent("", ActionDeploy, "")},
		{"unknown outcome", Event{Actor: ActorAdmin, Action: ActionDeploy, Outcome: "maybe"}},
		{"bad detail key", NewEvent(ActorAdmin, ActionDeploy, "").With("Bad Key", 1)},
		{"too many details", func() Event {
			ev := NewEvent(ActorAdmin, ActionDeploy, "")
			for i := range MaxDetails + 1 {
				ev = ev.With(fmt.Sprintf("k%d", i), i)
			}
			return ev
		}()},
	}
	for _, tt := range tests {
		if err := f.a.Record(context.Background(), tt.ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", tt.name, err)
		}
	}
	if len(f.log.entries) != 0 {
		t.Fatal("an invalid event was stored")
	}
}

// Record keeps credentials out of the log, whichever way they come in.
func TestRecordRedactsCredentials(t *testing.T) {
	f := newFixture(t, -1)
	apiKey := "pave_k_3ytnamovp3iykptmAbC-_9"
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	ev := NewEvent(ActorAdmin, ActionKeyCreate, Ref("key", "ci")).
		With("secret", secret.Value("hunter2-the-value")).
		With("token", "opaque-value-1").
		With("db_password", "opaque-value-2").
		With("note", "called with "+apiKey+" and Bearer opaque-value-3").
		With("claims", jwt).
		With("login", "typed pave_u_3ytnamovp3iykptm into the name box").
		From("10.0.0.1:1 " + apiKey).
		Fail(errors.New("upstream said: Authorization: Bearer opaque-value-4"))
	if err := f.a.Record(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	stored := string(f.log.entries[0].Data)
	for _, leaked := range []string{"hunter2", "opaque-value", apiKey, "pave_k_", "pave_u_", jwt, "eyJ"} {
		if strings.Contains(stored, leaked) {
			t.Errorf("the stored record contains %q: %s", leaked, stored)
		}
	}
	r := mustDecode(t, f.log.entries[0].Data)
	want := map[string]string{
		"secret": secret.Redacted, "token": secret.Redacted, "db_password": secret.Redacted,
		"note": "called with " + secret.Redacted + " and " + secret.Redacted, "claims": secret.Redacted,
		"error": "upstream said: Authorization: " + secret.Redacted,
	}
	for k, v := range want {
		if r.Event.Details[k] != v {
			t.Errorf("detail %s = %q, want %q", k, r.Event.Details[k], v)
		}
	}
	if r.Event.Outcome != Failed || r.Event.Source != "10.0.0.1:1 "+secret.Redacted {
		t.Errorf("event %+v", r.Event)
	}
}

func TestRecordBoundsFields(t *testing.T) {
	f := newFixture(t, -1)
	long := strings.Repeat("\x01", 2000) // the worst case: each byte escaped in 6
	ev := NewEvent(long, ActionDeploy, long).From(long)
	for i := range MaxDetails {
		ev = ev.With(fmt.Sprintf("k%d_%s", i, strings.Repeat("x", maxDetailKey-4)), long+"\xff")
	}
	if err := f.a.Record(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	data := f.log.entries[0].Data
	if len(data) > MaxRecordSize {
		t.Fatalf("record of %d bytes, over %d", len(data), MaxRecordSize)
	}
	r := mustDecode(t, data)
	if !strings.HasSuffix(r.Event.Target, "…") || len(r.Event.Target) > maxTargetLen || len(r.Event.Details) != MaxDetails {
		t.Fatalf("fields not cut: target %d bytes, %d details", len(r.Event.Target), len(r.Event.Details))
	}
	for k, v := range r.Event.Details {
		if len(v) > maxDetailValue || !strings.HasSuffix(v, "…") {
			t.Fatalf("detail %s: %d bytes", k, len(v))
		}
	}
	t.Logf("the largest event encodes to %d bytes, at most %d", len(data), MaxRecordSize)
}

// Many goroutines recording at once, with automatic seals, make one chain.
func TestRecordConcurrent(t *testing.T) {
	f := newFixture(t, 7)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := f.a.Record(context.Background(), NewEvent(Ref("key", fmt.Sprint(g)), ActionDeploy, "").With("i", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := f.a.Seal(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	rep := f.verify(t, f.log, f.head)
	if !rep.OK() || rep.Events != 200 || rep.Seals < 200/7 {
		t.Fatalf("%+v", rep)
	}
}

// racingLog is a Log on which another writer appends a record of its own
// (from a second Auditor) before the first few appends of ours.
type racingLog struct {
	*fakeLog
	other *Auditor
	races int
}

func (l *racingLog) Append(ctx context.Context, after uint64, data []byte) (uint64, error) {
	if l.races > 0 {
		l.races--
		if err := l.other.Record(ctx, NewEvent("key:other", ActionDeploy, "")); err != nil {
			return 0, err
		}
	}
	return l.fakeLog.Append(ctx, after, data)
}

func TestRecordRetriesAfterConflicts(t *testing.T) {
	key := testKey(t)
	shared := &fakeLog{}
	other, err := New(shared, key, Options{SealEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	racing := &racingLog{fakeLog: shared, other: other, races: 3}
	a, err := New(racing, key, Options{SealEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), shared, key, VerifyOptions{})
	if err != nil || !rep.OK() || rep.Events != 4 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if r := mustDecode(t, shared.entries[3].Data); r.Event.Actor != ActorAdmin {
		t.Fatalf("our event is not the last: %+v", r.Event)
	}

	// Conflicts without end give up after Retries.
	racing.races = 1000
	a.opts.Retries = 3
	if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); !errors.Is(err, ErrConflict) {
		t.Fatalf("endless conflicts: %v", err)
	}
}

// blockingLog never answers until its context ends.
type blockingLog struct{ MemLog }

func (*blockingLog) Last(ctx context.Context) (Entry, uint64, error) {
	<-ctx.Done()
	return Entry{}, 0, ctx.Err()
}

func TestRecordIsBounded(t *testing.T) {
	a, err := New(&blockingLog{}, testKey(t), Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Record on a stuck log: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Record took %s with a 50ms timeout", d)
	}

	// Waiting for the lock honours the context too.
	a.sem <- struct{}{} // held by someone else
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Record waiting for the lock: %v", err)
	}
	if err := a.Seal(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Seal waiting for the lock: %v", err)
	}
}

// After the newest records were deleted, recording goes on, and the gap
// stays visible.
func TestRecordAfterDeletedTail(t *testing.T) {
	f := newFixture(t, -1)
	f.record(t, 1, 5)
	f.log.remove(t, 5)
	f.log.remove(t, 4)
	other, err := New(f.log, f.key, Options{SealEvery: -1}) // a restarted daemon
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Auditor{f.a, other} {
		if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); err != nil {
			t.Fatal(err)
		}
	}
	if f.log.end != 7 {
		t.Fatalf("end %d, want 7", f.log.end)
	}
	rep := f.verify(t, f.log, nil)
	if rep.Problem == nil || rep.Problem.Kind != ProblemMissing || rep.Problem.Seq != 4 {
		t.Fatalf("%v, want records 4 and 5 missing", rep.Problem)
	}
}

func TestRunSealsUntilDone(t *testing.T) {
	f := newFixture(t, -1)
	f.a.opts.SealInterval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.a.Run(ctx) }()
	f.record(t, 1, 2)
	deadline := time.Now().Add(5 * time.Second)
	for headSeq(f.head) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not seal")
		}
		time.Sleep(time.Millisecond)
	}
	f.record(t, 3, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t, f.log, f.head)
	if !rep.OK() || rep.Unsealed != 0 || rep.Head != rep.Last {
		t.Fatalf("after Run: %+v", rep)
	}
}

func headSeq(h *memHead) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return storedSeq(h.data)
}

type failingSink struct{ err error }

func (s failingSink) Send(Record) error { return s.err }

// A sink or head that fails does not lose the event.
func TestFailuresAfterStoring(t *testing.T) {
	f := newFixture(t, 1)
	f.a.opts.Sink = failingSink{errors.New("disk full")}
	f.a.opts.Head = failingHead{}
	if err := f.a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := f.a.Seal(context.Background()); err == nil || !strings.Contains(err.Error(), "head") {
		t.Fatalf("Seal with a failing head: %v", err)
	}
	if rep := f.verify(t, f.log, nil); !rep.OK() || rep.Events != 1 || rep.Seals != 1 {
		t.Fatalf("%+v", rep)
	}
}

type failingHead struct{}

func (failingHead) Load(context.Context) ([]byte, error)        { return nil, errors.New("down") }
func (failingHead) Store(context.Context, uint64, []byte) error { return errors.New("down") }

func TestEventsSince(t *testing.T) {
	f := newFixture(t, 2)
	f.record(t, 1, 3)
	since := f.clock.Now()
	f.record(t, 4, 3)
	f.log.Append(context.Background(), f.log.end, []byte("not a record")) // skipped, not an error
	var got []string
	err := Events(context.Background(), f.log, since, func(e Event) error {
		got = append(got, e.Details["n"])
		return nil
	})
	if err != nil || strings.Join(got, ",") != "4,5,6" {
		t.Fatalf("events since: %v, %v", got, err)
	}
	stop := errors.New("stop")
	if err := Events(context.Background(), f.log, time.Time{}, func(Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("an error from fn: %v", err)
	}
	var kinds []Kind
	Records(context.Background(), f.log, 1, func(r Record) error {
		kinds = append(kinds, r.Kind)
		return nil
	})
	if len(kinds) != 9 || kinds[2] != KindSeal {
		t.Fatalf("records: %v", kinds)
	}
}

// A record appended by someone without the key while the Auditor runs is
// found at the Auditor's next append: it goes on recording, but no longer
// seals, so no seal ever vouches for the forgery, and Verify names it.
func TestForgedAppendStopsSealing(t *testing.T) {
	f := newFixture(t, -1)
	f.record(t, 1, 3)
	f.seal(t)
	appendForged(t, f.log, NewEvent(ActorAdmin, ActionKeyRevoke, "key:attacker-planted"))
	f.record(t, 10, 2)
	if err := f.a.Seal(context.Background()); !errors.Is(err, ErrBroken) {
		t.Fatalf("Seal over a forged record: %v, want ErrBroken", err)
	}
	p := f.a.Broken()
	if p == nil || p.Kind != ProblemForged || p.Seq != 5 {
		t.Fatalf("Broken() = %v, want forged at 5", p)
	}
	for seq, kind := range f.log.kinds(t) {
		if seq > 4 && kind == KindSeal {
			t.Fatalf("record %d is a seal over the forgery", seq)
		}
	}
	rep := f.verify(t, f.log, f.head)
	if rep.Problem == nil || rep.Problem.Kind != ProblemForged || rep.Problem.Seq != 5 {
		t.Fatalf("verify: %v, want forged at 5", rep.Problem)
	}
}

// CheckTail, which the daemon runs at start, finds what was done to the
// log while no Auditor was running, and the Auditor then refuses to seal.
func TestCheckTailAtStart(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, l *fakeLog, h *memHead) *fakeLog
		want   ProblemKind // "" for an intact log
		seq    uint64
	}{
		{"intact", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog { return l }, "", 0},
		{"an event appended at the end", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			appendForged(t, l, NewEvent(ActorAdmin, ActionKeyRevoke, "key:attacker-planted"))
			return l
		}, ProblemForged, 28},
		{"an unsealed event edited and re-hashed", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 27))
			r.Event.Actor = "key:innocent"
			l.set(t, 27, forge(r))
			return l
		}, ProblemForged, 27},
		{"the unsealed tail deleted", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 26)
			l.remove(t, 27)
			return l
		}, ProblemTruncated, 26},
		{"an unsealed event deleted", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 25)
			return l
		}, ProblemMissing, 25},
		{"the store rolled back to before the last seal", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			for seq := uint64(20); seq <= 27; seq++ {
				l.remove(t, seq)
			}
			return l.recreate()
		}, ProblemTruncated, 24},
		{"the sealed record the head names replaced", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 24))
			r.Time = r.Time.Add(time.Second)
			l.set(t, 24, forge(r))
			return l
		}, ProblemForgedHead, 24},
		{"the head forged", func(t *testing.T, l *fakeLog, h *memHead) *fakeLog {
			h.data = mustReplace(t, h.data, `"seq":24`, `"seq":18`)
			return l
		}, ProblemForgedHead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := baseLog(t)
			h := &memHead{data: slices.Clone(f.head.data)}
			l := tt.tamper(t, f.log.clone(), h)
			a, err := New(l, f.key, Options{SealEvery: -1, Head: h}) // a daemon starting
			if err != nil {
				t.Fatal(err)
			}
			p, err := a.CheckTail(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if p != nil {
					t.Fatalf("intact log: %v", p)
				}
				if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); err != nil {
					t.Fatal(err)
				}
				if err := a.Seal(context.Background()); err != nil {
					t.Fatal(err)
				}
				if rep := f.verify(t, l, h); !rep.OK() {
					t.Fatal(rep.Problem)
				}
				return
			}
			if p == nil || p.Kind != tt.want || p.Seq != tt.seq {
				t.Fatalf("CheckTail = %v, want %s at %d", p, tt.want, tt.seq)
			}
			if a.Broken() != p {
				t.Fatalf("Broken() = %v", a.Broken())
			}
			if err := a.Record(context.Background(), NewEvent(ActorAdmin, ActionDeploy, "")); err != nil {
				t.Fatalf("recording stops: %v", err)
			}
			if err := a.Seal(context.Background()); !errors.Is(err, ErrBroken) {
				t.Fatalf("Seal over a broken log: %v, want ErrBroken", err)
			}
			if rep := f.verify(t, l, h); rep.OK() {
				t.Fatal("Verify finds nothing")
			}
		})
	}
}

// A log written in format 1 (only seals carry a MAC) goes on in format 2:
// what a format 1 seal covers verifies; a format 1 event that no seal
// covers is reported, and the Auditor does not seal over it.
func TestFormat1Log(t *testing.T) {
	f := newFixture(t, -1)
	k, err := parseKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	legacy := func(l *fakeLog, kind Kind) {
		t.Helper()
		r := Record{Seq: l.end + 1, Kind: kind, Time: time.Date(2026, 1, 1, 0, 0, 0, int(l.end), time.UTC), version: legacyVersion}
		if l.end > 0 {
			r.Prev = mustDecode(t, l.data(t, l.end)).Hash
		}
		if kind == KindEvent {
			r.Event = NewEvent(ActorAdmin, ActionDeploy, "function:old")
			r.Event.Seq, r.Event.Time = r.Seq, r.Time
		} else {
			r.KeyID, r.MAC = k.id, nil
			r.MAC = r.mac(k)
		}
		r.Hash = r.sum()
		if _, err := l.Append(context.Background(), l.end, r.JSON()); err != nil {
			t.Fatal(err)
		}
	}
	legacy(f.log, KindEvent)
	legacy(f.log, KindEvent)
	legacy(f.log, KindSeal)
	f.record(t, 1, 3)
	f.seal(t)
	if rep := f.verify(t, f.log, f.head); !rep.OK() || rep.Events != 5 || rep.Seals != 2 {
		t.Fatalf("a sealed format 1 log continued in format 2: %+v", rep)
	}

	unsealed := &fakeLog{}
	legacy(unsealed, KindEvent)
	legacy(unsealed, KindSeal)
	legacy(unsealed, KindEvent)
	a, err := New(unsealed, f.key, Options{SealEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.CheckTail(context.Background())
	if err != nil || p == nil || p.Kind != ProblemForged || p.Seq != 3 {
		t.Fatalf("CheckTail = %v, %v; want forged at 3", p, err)
	}
}
