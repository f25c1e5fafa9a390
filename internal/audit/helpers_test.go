package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/secret"
)

// fakeLog is a MemLog whose records a test can change at will, as
// someone with write access to the store could.
type fakeLog struct{ MemLog }

// clone is a deep copy; the caller owns l.
func (l *fakeLog) clone() *fakeLog {
	c := &fakeLog{}
	c.end, c.entries = l.end, make([]Entry, len(l.entries))
	for i, e := range l.entries {
		c.entries[i] = Entry{Seq: e.Seq, Data: slices.Clone(e.Data)}
	}
	return c
}

// index returns the position of record seq.
func (l *fakeLog) index(t *testing.T, seq uint64) int {
	t.Helper()
	for i, e := range l.entries {
		if e.Seq == seq {
			return i
		}
	}
	t.Fatalf("no record %d", seq)
	return -1
}

func (l *fakeLog) data(t *testing.T, seq uint64) []byte { return l.entries[l.index(t, seq)].Data }

func (l *fakeLog) set(t *testing.T, seq uint64, data []byte) {
	l.entries[l.index(t, seq)].Data = data
}

// remove deletes record seq; its number stays used, as in JetStream.
func (l *fakeLog) remove(t *testing.T, seq uint64) {
	i := l.index(t, seq)
	l.entries = slices.Delete(l.entries, i, i+1)
}

// recreate is the log rebuilt from scratch with the records' bytes as
// they are, renumbered from 1: what deleting and re-creating the stream
// and publishing the records again gives.
func (l *fakeLog) recreate() *fakeLog {
	c := &fakeLog{}
	for _, e := range l.entries {
		c.end++
		c.entries = append(c.entries, Entry{Seq: c.end, Data: slices.Clone(e.Data)})
	}
	return c
}

func (l *fakeLog) kinds(t *testing.T) map[uint64]Kind {
	t.Helper()
	m := map[uint64]Kind{}
	for _, e := range l.entries {
		r, err := DecodeRecord(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		m[e.Seq] = r.Kind
	}
	return m
}

// memHead is a HeadStore in memory.
type memHead struct {
	mu   sync.Mutex
	data []byte
}

func (h *memHead) Load(context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.data), nil
}

func (h *memHead) Store(_ context.Context, seq uint64, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if storedSeq(h.data) < seq {
		h.data = slices.Clone(data)
	}
	return nil
}

// clock is a fake clock that advances a millisecond per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func testKey(t testing.TB) secret.Value {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is a log written by an Auditor: events, seals every sealEvery
// records, and a head.
type fixture struct {
	log   *fakeLog
	head  *memHead
	key   secret.Value
	clock *clock
	a     *Auditor
}

func newFixture(t testing.TB, sealEvery int) *fixture {
	t.Helper()
	f := &fixture{log: &fakeLog{}, head: &memHead{}, key: testKey(t), clock: newClock()}
	a, err := New(f.log, f.key, Options{SealEvery: sealEvery, Head: f.head, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

// record records n events, numbered from first in their details.
func (f *fixture) record(t testing.TB, first, n int) {
	t.Helper()
	actions := []string{ActionDeploy, ActionKeyCreate, ActionSecretSet, ActionCapabilityDenied, ActionRollback}
	for i := first; i < first+n; i++ {
		ev := NewEvent(ActorAdmin, actions[i%len(actions)], Ref("function", fmt.Sprintf("fn%d", i))).
			From("127.0.0.1:5000").With("n", i)
		if i%4 == 3 {
			ev = ev.Deny("not granted")
		}
		if err := f.a.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) seal(t *testing.T) {
	t.Helper()
	if err := f.a.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// verify runs Verify on log with the fixture's key and head.
func (f *fixture) verify(t *testing.T, log Log, head HeadStore) VerifyReport {
	t.Helper()
	rep, err := Verify(context.Background(), log, f.key, VerifyOptions{Head: head})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// rehash recomputes a record's hash after it was changed, as anyone who
// knows the documented format can: SHA-256 of the domain label and the
// body, the stored bytes without the hash field.
func rehash(t *testing.T, data []byte) []byte {
	t.Helper()
	const hashField = len(`,"hash":""}`) + 2*sha256.Size
	body := append(slices.Clone(data[:len(data)-hashField]), '}')
	sum := sha256.Sum256(append([]byte(recordDomain), body...))
	return fmt.Appendf(nil, `%s,"hash":"%x"}`, body[:len(body)-1], sum)
}

// mustDecode decodes data or fails.
func mustDecode(t *testing.T, data []byte) Record {
	t.Helper()
	r, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// forge re-encodes r with its hash recomputed: a well-formed record that
// someone without the key can make.
func forge(r Record) []byte {
	r.Hash = r.sum()
	r.raw = nil
	return r.encode(partAll)
}
