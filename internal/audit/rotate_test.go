package audit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
)

// rotated returns a log with events sealed by old, a rotation to next
// made by an Auditor holding only old (it is given next), and events
// after it, with the Auditor and its head.
func rotated(t *testing.T, old, next secret.Value) (*fakeLog, *Auditor, *memHead) {
	t.Helper()
	ctx := context.Background()
	lg, head := &fakeLog{}, &memHead{}
	var moves []string
	a, err := New(lg, old, Options{Head: head, Now: newClock().Now, OnRotate: func(from, to string) { moves = append(moves, from+">"+to) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"function:a", "function:b"} {
		if err := a.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, target)); err != nil {
			t.Fatal(err)
		}
	}
	from, to, err := a.Rotate(ctx, next, NewEvent(ActorAdmin, "", "").From("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := KeyID(old)
	nextID, _ := KeyID(next)
	if from != oldID || to != nextID || a.KeyID() != nextID || len(moves) != 1 || moves[0] != oldID+">"+nextID {
		t.Fatalf("Rotate: %s > %s, sealing with %s, OnRotate %v; want %s > %s", from, to, a.KeyID(), moves, oldID, nextID)
	}
	if err := a.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:c")); err != nil {
		t.Fatal(err)
	}
	if err := a.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	return lg, a, head
}

func TestRotateHandsTheLogToTheNextKey(t *testing.T) {
	ctx := context.Background()
	old, next := testKey(t), testKey(t)
	lg, a, head := rotated(t, old, next)
	nextID, _ := KeyID(next)

	// Records: 2 events and the rotation under the old key, then a seal,
	// an event and a seal under the new one.
	var rotation Record
	for i, e := range lg.entries {
		r := mustDecode(t, e.Data)
		if r.Event.Action == ActionRotateKey {
			rotation = r
		}
		if i >= 3 && r.KeyID != nextID {
			t.Errorf("record %d is sealed with %s after the rotation, want %s", r.Seq, r.KeyID, nextID)
		}
	}
	if rotation.Seq != 3 || rotation.Event.Details["to"] != nextID || rotation.Event.Source != "127.0.0.1" || rotation.Event.Target != Ref("audit-key", nextID) {
		t.Fatalf("the rotation record: %+v", rotation)
	}

	for _, tt := range []struct {
		name string
		key  secret.Value
		keys []secret.Value
	}{
		{"the old key with the new one", old, []secret.Value{next}},
		{"the new key with the old one", next, []secret.Value{old}},
	} {
		rep, err := Verify(ctx, lg, tt.key, VerifyOptions{Head: head, Keys: tt.keys})
		if err != nil || !rep.OK() || rep.Rotations != 1 || rep.Key != nextID || rep.Head != 6 {
			t.Errorf("%s: %+v %v", tt.name, rep, err)
		}
	}
	// Without the new key nothing after the rotation can be checked.
	rep, err := Verify(ctx, lg, old, VerifyOptions{Head: head})
	if err != nil || rep.Problem == nil || rep.Problem.Kind != ProblemUnknownKey || rep.Problem.Seq != 3 {
		t.Errorf("the old key alone: %+v %v", rep.Problem, err)
	}
	if rep, _ := a.Verify(ctx); !rep.OK() {
		t.Errorf("the Auditor's own Verify: %v", rep.Problem)
	}
}

// TestRotationCannotBeForged attacks a rotated log: records sealed with
// the old key after the rotation (what whoever stole the old key would
// add), a rotation to the attacker's key, and the rotation record itself
// removed or changed.
func TestRotationCannotBeForged(t *testing.T) {
	ctx := context.Background()
	old, next, attacker := testKey(t), testKey(t), testKey(t)
	oldK, _ := parseKey(old)
	attackerK, _ := parseKey(attacker)
	lg, _, head := rotated(t, old, next)
	check := func(name string, l *fakeLog, keys []secret.Value, kind ProblemKind, seq uint64) {
		t.Helper()
		rep, err := Verify(ctx, l, next, VerifyOptions{Head: head, Keys: keys})
		if err != nil || rep.Problem == nil || rep.Problem.Kind != kind || rep.Problem.Seq != seq {
			t.Errorf("%s: %+v %v, want %s at %d", name, rep.Problem, err, kind, seq)
		}
	}
	appendWith := func(l *fakeLog, k *sealKey, build func(seq uint64, prev Hash) Record) {
		last := mustDecode(t, l.entries[len(l.entries)-1].Data)
		r := build(last.Seq+1, last.Hash)
		r.sign(k)
		if _, err := l.Append(ctx, l.end, r.encode(partAll)); err != nil {
			t.Fatal(err)
		}
	}
	event := func(target string) func(uint64, Hash) Record {
		return func(seq uint64, prev Hash) Record {
			ev := NewEvent(ActorAdmin, ActionDeploy, target)
			ev.Seq, ev.Time = seq, newClock().Now()
			return Record{Seq: seq, Kind: KindEvent, Time: ev.Time, Prev: prev, Event: ev}
		}
	}

	// An event sealed with the old key after the rotation.
	l := lg.clone()
	appendWith(l, oldK, event("function:evil"))
	check("an event under the old key after the rotation", l, []secret.Value{old}, ProblemForged, 7)

	// A rotation, sealed with the old key, to the attacker's key, placed
	// after the genuine one: it is under the wrong key.
	l = lg.clone()
	appendWith(l, oldK, func(seq uint64, prev Hash) Record {
		ev := NewEvent(ActorAdmin, ActionRotateKey, Ref("audit-key", attackerK.id))
		ev.Details = map[string]string{"from": oldK.id, "to": attackerK.id}
		ev.Seq, ev.Time = seq, newClock().Now()
		return Record{Seq: seq, Kind: KindEvent, Time: ev.Time, Prev: prev, Event: ev}
	})
	check("a rotation under the old key to the attacker's", l, []secret.Value{old}, ProblemForged, 7)

	// The rotation record rewritten to name the attacker's key.
	l = lg.clone()
	r := mustDecode(t, l.data(t, 3))
	r.Event.Details["to"] = attackerK.id
	r.sign(oldK) // the hash too: only the next record's link shows it
	l.set(t, 3, r.encode(partAll))
	check("the rotation rewritten", l, []secret.Value{old, attacker}, ProblemBrokenLink, 4)

	// The rotation record removed.
	l = lg.clone()
	l.remove(t, 3)
	check("the rotation removed", l, []secret.Value{old}, ProblemMissing, 3)
}

// TestWritersFollowARotation: a second writer on the same log follows the
// first's rotation when it holds the next key, even given only later
// through LoadKey, and appends nothing while it does not.
func TestWritersFollowARotation(t *testing.T) {
	ctx := context.Background()
	old, next := testKey(t), testKey(t)
	nextID, _ := KeyID(next)
	lg, head := &fakeLog{}, &memHead{}
	first, err := New(lg, old, Options{Head: head})
	if err != nil {
		t.Fatal(err)
	}
	given := false
	var moves []string
	second, err := New(lg, old, Options{Head: head,
		LoadKey: func(id string) (secret.Value, bool) {
			if given && id == nextID {
				return next, true
			}
			return "", false
		},
		OnRotate: func(from, to string) { moves = append(moves, to) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.CheckTail(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:a")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := first.Rotate(ctx, next, NewEvent(ActorAdmin, "", "")); err != nil {
		t.Fatal(err)
	}
	before := len(lg.entries)
	err = second.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:b"))
	if !errors.Is(err, ErrKeyNotHeld) || !strings.Contains(err.Error(), nextID) || len(lg.entries) != before {
		t.Fatalf("Record without the next key: %v, %d records after %d", err, len(lg.entries), before)
	}
	if second.Broken() != nil {
		t.Fatalf("a rotation to a key not held was taken for tampering: %v", second.Broken())
	}
	given = true
	if err := second.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:b")); err != nil {
		t.Fatalf("Record once the next key is given: %v", err)
	}
	if second.KeyID() != nextID || len(moves) != 1 || moves[0] != nextID {
		t.Fatalf("the second writer seals with %s, OnRotate %v; want %s", second.KeyID(), moves, nextID)
	}
	if err := first.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:c")); err != nil {
		t.Fatal(err)
	}
	if err := second.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, lg, next, VerifyOptions{Head: head, Keys: []secret.Value{old}})
	if err != nil || !rep.OK() || rep.Rotations != 1 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
	// A writer that starts on the rotated log with both keys seals with
	// the new one; with the old key alone it refuses to start.
	third, err := New(lg, old, Options{Head: head, Keys: []secret.Value{next}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := third.CheckTail(ctx); p != nil || err != nil || third.KeyID() != nextID {
		t.Fatalf("CheckTail with both keys: %v %v, sealing with %s", p, err, third.KeyID())
	}
	fourth, err := New(lg, old, Options{Head: head})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := fourth.CheckTail(ctx); !errors.Is(err, ErrKeyNotHeld) || p != nil || fourth.Broken() != nil {
		t.Fatalf("CheckTail with the old key alone: %v %v, broken %v; want ErrKeyNotHeld", p, err, fourth.Broken())
	}
}

// TestWriterStartedOnAnEmptyLogChecksWhatOthersAppend: a writer whose
// CheckTail found the log empty checks, before its first append, every
// record others appended since, not only the newest: a forged record
// followed by a genuine one is found.
func TestWriterStartedOnAnEmptyLogChecksWhatOthersAppend(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	attacker, _ := parseKey(testKey(t))
	lg := &fakeLog{}
	late, err := New(lg, key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := late.CheckTail(ctx); p != nil || err != nil {
		t.Fatal(p, err)
	}
	other, err := New(lg, key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:a")); err != nil {
		t.Fatal(err)
	}
	last := mustDecode(t, lg.entries[len(lg.entries)-1].Data)
	ev := NewEvent(ActorAdmin, ActionKeyRevoke, "key:planted")
	ev.Seq, ev.Time = last.Seq+1, newClock().Now()
	forged := Record{Seq: last.Seq + 1, Kind: KindEvent, Time: ev.Time, Prev: last.Hash, Event: ev}
	forged.sign(attacker)
	if _, err := lg.Append(ctx, lg.end, forged.encode(partAll)); err != nil {
		t.Fatal(err)
	}
	if err := other.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:b")); err != nil {
		t.Fatal(err)
	}
	if err := late.Record(ctx, NewEvent(ActorAdmin, ActionDeploy, "function:c")); err != nil {
		t.Fatal(err)
	}
	if p := late.Broken(); p == nil || p.Seq != forged.Seq || p.Kind != ProblemForged {
		t.Fatalf("the late writer found %v, want the forged record %d", p, forged.Seq)
	}
}
