package audit

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// The base log of the tampering tests: 20 events sealed every 5 records,
// then 3 unsealed events.
//
//	1-5 events, 6 seal, 7-11 events, 12 seal, 13-17 events, 18 seal,
//	19-23 events, 24 seal (the head), 25-27 events (unsealed)
func baseLog(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, 5)
	f.record(t, 1, 20)
	f.seal(t) // the newest record is a seal already: nothing to do
	f.record(t, 21, 3)
	kinds := f.log.kinds(t)
	var seals []uint64
	for seq, k := range kinds {
		if k == KindSeal {
			seals = append(seals, seq)
		}
	}
	slices.Sort(seals)
	if !slices.Equal(seals, []uint64{6, 12, 18, 24}) || len(kinds) != 27 {
		t.Fatalf("base log: %d records, seals at %v", len(kinds), seals)
	}
	return f
}

func TestIntactLogVerifies(t *testing.T) {
	f := baseLog(t)
	rep := f.verify(t, f.log, f.head)
	if !rep.OK() {
		t.Fatalf("intact log: %v", rep.Problem)
	}
	want := VerifyReport{First: 1, Last: 27, End: 27, Events: 23, Seals: 4, LastSeal: 24, Unsealed: 3, Head: 24}
	got := rep
	got.LastSealTime, got.OldestUnsealed, got.Warnings = time.Time{}, time.Time{}, nil
	if !equalReports(got, want) {
		t.Fatalf("report %+v, want %+v", got, want)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}

	// Sealing the rest leaves nothing unsealed; the Auditor's own Verify
	// agrees.
	f.seal(t)
	rep, err := f.a.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Unsealed != 0 || rep.Seals != 5 || rep.Head != 28 {
		t.Fatalf("after sealing: %+v, %v", rep, err)
	}
}

func mustReplace(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %s", data, old)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

func equalReports(a, b VerifyReport) bool {
	return a.Problem == b.Problem && a.First == b.First && a.Last == b.Last && a.End == b.End &&
		a.Events == b.Events && a.Seals == b.Seals && a.LastSeal == b.LastSeal &&
		a.Unsealed == b.Unsealed && a.Head == b.Head && a.Pruned == b.Pruned
}

// Every single-byte change anywhere in a stored record is found at that
// record: an event, a denied event, a seal, the last record.
func TestSingleByteEditsDetected(t *testing.T) {
	// A short log, as each edit verifies it all: 1-2 events, 3 seal,
	// 4 a denied event, 5 event, 6 seal, 7 event.
	f := newFixture(t, 2)
	f.record(t, 1, 5)
	if k := f.log.kinds(t); len(k) != 7 || k[3] != KindSeal || k[6] != KindSeal || k[7] != KindEvent ||
		mustDecode(t, f.log.data(t, 4)).Event.Outcome != Denied {
		t.Fatalf("layout: %v", k)
	}
	edits := []struct {
		name string
		edit func(byte) byte
	}{
		{"flip the low bit", func(b byte) byte { return b ^ 0x01 }},
		{"flip the case bit", func(b byte) byte { return b ^ 0x20 }},
		{"a digit", func(byte) byte { return '7' }},
		{"a quote", func(byte) byte { return '"' }},
		{"a space", func(byte) byte { return ' ' }},
	}
	for _, seq := range []uint64{1, 3, 4, 7} {
		orig := f.log.data(t, seq)
		checked := 0
		for pos := range orig {
			for _, e := range edits {
				b := e.edit(orig[pos])
				if b == orig[pos] {
					continue
				}
				l := f.log.clone()
				data := slices.Clone(orig)
				data[pos] = b
				l.set(t, seq, data)
				rep := f.verify(t, l, f.head)
				if rep.Problem == nil || rep.Problem.Seq != seq ||
					(rep.Problem.Kind != ProblemMalformed && rep.Problem.Kind != ProblemEdited) {
					t.Fatalf("record %d, byte %d (%q), %s: got %v; want it found at %d\n%s",
						seq, pos, orig[pos], e.name, rep.Problem, seq, data)
				}
				checked++
			}
		}
		if checked < 3*len(orig) {
			t.Fatalf("record %d: only %d edits checked", seq, checked)
		}
	}
}

func TestTamperingDetected(t *testing.T) {
	other := testKey(t) // a key that is not the audit key
	otherKey, err := parseKey(other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		tamper   func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog
		wantKind ProblemKind
		wantSeq  uint64
		detail   string // in the problem's detail, if set
	}{
		{"an event edited in place", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.set(t, 8, mustReplace(t, l.data(t, 8), `"actor":"admin"`, `"actor":"admix"`))
			return l
		}, ProblemEdited, 8, ""},
		{"an event deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 8)
			return l
		}, ProblemMissing, 8, ""},
		{"events deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 8)
			l.remove(t, 9)
			l.remove(t, 10)
			return l
		}, ProblemMissing, 8, ""},
		{"the first event deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 1)
			return l
		}, ProblemMissing, 1, ""},
		{"a seal deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 12)
			return l
		}, ProblemMissing, 12, ""},
		{"two events swapped", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			a, b := l.data(t, 8), l.data(t, 9)
			l.set(t, 8, b)
			l.set(t, 9, a)
			return l
		}, ProblemMoved, 8, ""},
		{"an event moved to the end", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			data := l.data(t, 8)
			l.remove(t, 8)
			l.end++
			l.entries = append(l.entries, Entry{Seq: l.end, Data: data})
			return l
		}, ProblemMissing, 8, ""},
		{"an event deleted and the log rebuilt without it", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 8)
			return l.recreate()
		}, ProblemMoved, 8, ""},
		{"an event deleted, the rest renumbered and re-hashed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 8)
			l = l.recreate()
			for seq := uint64(8); seq <= l.end; seq++ {
				r := mustDecode(t, l.data(t, seq))
				r.Seq, r.Event.Seq = seq, seq
				r.Prev = mustDecode(t, l.data(t, seq-1)).Hash
				l.set(t, seq, forge(r))
			}
			return l
		}, ProblemForged, 8, ""},
		{"an event replaced by a re-hashed forgery", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 9))
			r.Event.Outcome, r.Event.Details = OK, map[string]string{"n": "9"}
			l.set(t, 9, forge(r))
			return l
		}, ProblemForged, 9, ""},
		{"a byte changed and the hash recomputed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.set(t, 9, rehash(t, mustReplace(t, l.data(t, 9), `"actor":"admin"`, `"actor":"admix"`)))
			return l
		}, ProblemForged, 9, ""},
		{"an event rewritten and every later record re-hashed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 8))
			r.Event.Actor = "key:innocent"
			l.set(t, 8, forge(r))
			for seq := uint64(9); seq <= l.end; seq++ {
				r := mustDecode(t, l.data(t, seq))
				r.Prev = mustDecode(t, l.data(t, seq-1)).Hash
				l.set(t, seq, forge(r))
			}
			return l
		}, ProblemForged, 8, ""},
		{"the first record linked to something before it", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 1))
			r.Prev[0] = 1
			l.set(t, 1, forge(r))
			return l
		}, ProblemBrokenLink, 1, ""},
		{"a seal made with another key", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 12))
			r.KeyID = otherKey.id
			r.MAC = r.mac(otherKey)
			l.set(t, 12, forge(r))
			return l
		}, ProblemForgedSeal, 12, "made with key"},
		{"a seal with the key's id and another key's MAC", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 12))
			r.MAC = r.mac(otherKey)
			l.set(t, 12, forge(r))
			return l
		}, ProblemForgedSeal, 12, ""},
		{"a seal's time changed and re-hashed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 12))
			r.Time = r.Time.Add(time.Hour)
			l.set(t, 12, forge(r))
			return l
		}, ProblemForgedSeal, 12, ""},
		{"the unsealed tail deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 25)
			l.remove(t, 26)
			l.remove(t, 27)
			return l
		}, ProblemTruncated, 25, ""},
		{"the last event deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.remove(t, 27)
			return l
		}, ProblemTruncated, 27, ""},
		{"the last seal and what follows deleted", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			for seq := uint64(24); seq <= 27; seq++ {
				l.remove(t, seq)
			}
			return l
		}, ProblemTruncated, 24, ""},
		{"the log rebuilt without its sealed end", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			for seq := uint64(20); seq <= 27; seq++ {
				l.remove(t, seq)
			}
			return l.recreate() // the end is 19 now: only the head knows
		}, ProblemTruncated, 20, ""},
		{"the head edited", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			h.data = mustReplace(t, h.data, `"seq":24`, `"seq":18`)
			return l
		}, ProblemForgedHead, 0, ""},
		{"the head signed with another key", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			h.data = signHead(otherKey, mustDecode(t, l.data(t, 24)), time.Now())
			return l
		}, ProblemForgedHead, 0, ""},
		{"the last seal re-made with another key", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			r := mustDecode(t, l.data(t, 24))
			r.Time = r.Time.Add(time.Second)
			r.MAC = r.mac(otherKey)
			l.set(t, 24, forge(r))
			return l
		}, ProblemForgedSeal, 24, ""},
		{"an unsealed event rewritten and the rest re-hashed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			for seq := uint64(25); seq <= 27; seq++ {
				r := mustDecode(t, l.data(t, seq))
				if seq == 26 {
					r.Event.Actor = "key:innocent"
				}
				r.Prev = mustDecode(t, l.data(t, seq-1)).Hash
				l.set(t, seq, forge(r))
			}
			return l
		}, ProblemForged, 26, ""},
		{"a well-chained event appended at the end", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			appendForged(t, l, NewEvent(ActorAdmin, ActionKeyRevoke, "key:attacker-planted"))
			return l
		}, ProblemForged, 28, ""},
		{"a well-chained event appended with another key's MAC", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			last := mustDecode(t, l.data(t, l.end))
			r := Record{Seq: l.end + 1, Kind: KindEvent, Time: last.Time, Prev: last.Hash, Event: NewEvent(ActorAdmin, ActionKeyRevoke, "key:x")}
			r.sign(otherKey)
			if _, err := l.Append(context.Background(), l.end, r.JSON()); err != nil {
				t.Fatal(err)
			}
			return l
		}, ProblemForged, 28, "made with key"},
		{"a format 1 event appended at the end", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			last := mustDecode(t, l.data(t, l.end))
			r := Record{Seq: l.end + 1, Kind: KindEvent, Time: last.Time, Prev: last.Hash, version: legacyVersion, Event: NewEvent(ActorAdmin, ActionKeyRevoke, "key:x")}
			r.Hash = r.sum()
			if _, err := l.Append(context.Background(), l.end, r.JSON()); err != nil {
				t.Fatal(err)
			}
			return l
		}, ProblemForged, 28, "format 1"},
		{"an event inserted in the middle, the rest renumbered and re-hashed", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			n := &fakeLog{}
			for seq := uint64(1); seq <= l.end; seq++ {
				if seq == 10 {
					appendForged(t, n, NewEvent(ActorAdmin, ActionKeyRevoke, "key:attacker"))
				}
				r := mustDecode(t, l.data(t, seq))
				if seq >= 10 {
					r.Seq, r.Event.Seq = seq+1, seq+1
					r.Prev = mustDecode(t, n.data(t, seq)).Hash
				}
				if _, err := n.Append(context.Background(), n.end, forge(r)); err != nil {
					t.Fatal(err)
				}
			}
			return n
		}, ProblemForged, 10, ""},
		{"something else appended", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			if _, err := l.Append(context.Background(), l.end, []byte(`{"hello":"world"}`)); err != nil {
				t.Fatal(err)
			}
			return l
		}, ProblemMalformed, 28, ""},
		{"an empty record", func(t *testing.T, f *fixture, l *fakeLog, h *memHead) *fakeLog {
			l.set(t, 5, nil)
			return l
		}, ProblemMalformed, 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := baseLog(t)
			if rep := f.verify(t, f.log, f.head); !rep.OK() {
				t.Fatalf("before tampering: %v", rep.Problem)
			}
			h := &memHead{data: slices.Clone(f.head.data)}
			l := tt.tamper(t, f, f.log.clone(), h)
			rep := f.verify(t, l, h)
			if rep.Problem == nil {
				t.Fatalf("not detected: %+v", rep)
			}
			if rep.Problem.Kind != tt.wantKind || rep.Problem.Seq != tt.wantSeq || !strings.Contains(rep.Problem.Detail, tt.detail) {
				t.Fatalf("found %v; want %s at %d", rep.Problem, tt.wantKind, tt.wantSeq)
			}
			t.Log(rep.Problem)
		})
	}
}

// What Verify cannot see, documented in the package comment: these must
// keep passing, or the documentation is wrong.
func TestLimitsOfVerification(t *testing.T) {
	t.Run("the unsealed tail cut off a rebuilt log", func(t *testing.T) {
		f := baseLog(t)
		l := f.log.clone()
		for seq := uint64(25); seq <= 27; seq++ {
			l.remove(t, seq)
		}
		rep := f.verify(t, l.recreate(), f.head)
		if !rep.OK() || rep.Last != 24 || rep.Unsealed != 0 {
			t.Fatalf("got %+v; the head only covers sealed records", rep)
		}
	})
	t.Run("sealed records cut off a rebuilt log and the head deleted", func(t *testing.T) {
		f := baseLog(t)
		l := f.log.clone()
		for seq := uint64(19); seq <= 27; seq++ {
			l.remove(t, seq)
		}
		rep := f.verify(t, l.recreate(), &memHead{})
		if !rep.OK() || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "no head") {
			t.Fatalf("got %+v; want a warning only", rep)
		}
	})
	t.Run("a replayed older head with the log rebuilt to it", func(t *testing.T) {
		f := baseLog(t)
		old := slices.Clone(f.head.data) // the head naming seal 24
		f.record(t, 100, 10)             // seals again: the head moves on
		if rep := f.verify(t, f.log, f.head); !rep.OK() || rep.Head <= 24 {
			t.Fatalf("%+v", rep)
		}
		l := f.log.clone()
		for seq := uint64(25); seq <= l.end; seq++ {
			l.remove(t, seq)
		}
		if rep := f.verify(t, l.recreate(), &memHead{data: old}); !rep.OK() {
			t.Fatalf("got %v; a head signed earlier is still a valid head", rep.Problem)
		}
	})
}

func TestPrunedLog(t *testing.T) {
	f := baseLog(t)
	l := f.log.clone()
	for seq := uint64(1); seq <= 9; seq++ {
		l.remove(t, seq) // retention removed the oldest records
	}
	rep := f.verify(t, l, f.head)
	if rep.Problem == nil || rep.Problem.Kind != ProblemMissing || rep.Problem.Seq != 1 {
		t.Fatalf("without AllowPruned: %v", rep.Problem)
	}
	rep, err := Verify(context.Background(), l, f.key, VerifyOptions{Head: f.head, AllowPruned: true})
	if err != nil || !rep.OK() || !rep.Pruned || rep.First != 10 || rep.Seals != 3 {
		t.Fatalf("with AllowPruned: %+v, %v", rep, err)
	}
	// Everything expired: an empty log with a used end is what retention
	// leaves, but the head shows what was sealed.
	all := &fakeLog{MemLog{end: l.end}}
	rep, err = Verify(context.Background(), all, f.key, VerifyOptions{AllowPruned: true})
	if err != nil || !rep.OK() {
		t.Fatalf("all expired: %+v, %v", rep, err)
	}
	rep, err = Verify(context.Background(), all, f.key, VerifyOptions{Head: f.head, AllowPruned: true})
	if err != nil || rep.Problem == nil || rep.Problem.Kind != ProblemTruncated {
		t.Fatalf("all expired, with the head: %+v, %v", rep, err)
	}
}

func TestUnsealedWarning(t *testing.T) {
	f := baseLog(t)
	now := f.clock.Now()
	opts := VerifyOptions{Head: f.head, SealInterval: time.Minute, Now: func() time.Time { return now }}
	rep, err := Verify(context.Background(), f.log, f.key, opts)
	if err != nil || !rep.OK() || len(rep.Warnings) != 0 {
		t.Fatalf("fresh: %+v, %v", rep, err)
	}
	now = now.Add(time.Hour)
	rep, err = Verify(context.Background(), f.log, f.key, opts)
	if err != nil || !rep.OK() || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "3 records have been unsealed") {
		t.Fatalf("an hour later: %+v, %v", rep, err)
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	rep, err := Verify(context.Background(), &MemLog{}, testKey(t), VerifyOptions{Head: &memHead{}})
	if err != nil || !rep.OK() || rep.Last != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if _, err := Verify(context.Background(), &MemLog{}, "not a key", VerifyOptions{}); err == nil {
		t.Fatal("Verify accepted a bad key")
	}
}

// appendForged appends ev to l as the next record, chained and hashed as
// the format says, as someone who can write the log but has no key can.
func appendForged(t *testing.T, l *fakeLog, ev Event) {
	t.Helper()
	r := Record{Seq: l.end + 1, Kind: KindEvent, Event: ev, KeyID: "0123456789abcdef", MAC: make([]byte, 32)}
	if l.end > 0 {
		last := mustDecode(t, l.data(t, l.end))
		r.Prev, r.Time = last.Hash, last.Time.Add(time.Millisecond)
	}
	r.Event.Seq, r.Event.Time = r.Seq, r.Time
	if _, err := l.Append(context.Background(), l.end, forge(r)); err != nil {
		t.Fatal(err)
	}
}
