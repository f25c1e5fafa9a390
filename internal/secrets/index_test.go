package secrets_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
)

// redacts reports, for each value, whether r hides it in a text.
func redacts(r *secrets.Redactor, values ...string) []bool {
	out := make([]bool, len(values))
	for i, v := range values {
		out[i] = !strings.Contains(r.String("x "+v+" y"), v)
	}
	return out
}

func same(a, b []bool) bool { return slices.Equal(a, b) }

func strs(b []bool) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = map[bool]string{true: "hidden", false: "shown"}[v]
	}
	return out
}

// TestRedactorCoversEveryStoredValue: the store's Redactor hides every
// version of every secret as they are set, stops hiding a removed one,
// leaves out the secrets named in except, and adds values it was not told
// of yet.
func TestRedactorCoversEveryStoredValue(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	if r := s.Redactor(nil, nil); r != nil {
		t.Fatal("a Redactor over an empty store")
	}
	a1, a2, b, extra := canary(), canary(), canary(), canary()
	set := func(name, v string) {
		t.Helper()
		if _, err := s.Set(ctx, name, secret.Value(v)); err != nil {
			t.Fatal(err)
		}
	}
	set("A", a1)
	set("B", b)
	set("A", a2) // a rotation: the old value is still stored
	set("TINY", "abc")
	for _, tt := range []struct {
		name   string
		extra  []string
		except []string
		want   []bool // a1, a2, b, extra
	}{
		{"all", nil, nil, []bool{true, true, true, false}},
		{"read values already stored", []string{a2}, nil, []bool{true, true, true, false}},
		{"a value not known yet", []string{extra}, nil, []bool{true, true, true, true}},
		{"except A", nil, []string{"A"}, []bool{false, false, true, false}},
		{"except A, B", nil, []string{"A", "B"}, []bool{false, false, false, false}},
		{"except A, plus extra", []string{extra}, []string{"A"}, []bool{false, false, true, true}},
	} {
		var ex []secret.Value
		for _, v := range tt.extra {
			ex = append(ex, secret.Value(v))
		}
		got := redacts(s.Redactor(ex, tt.except), a1, a2, b, extra)
		if !same(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, strs(got), strs(tt.want))
		}
	}
	if r := s.Redactor(nil, []string{"A", "B", "TINY"}); r != nil {
		t.Error("a Redactor with every secret left out")
	}
	if err := s.Remove(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if got := redacts(s.Redactor(nil, nil), a1, a2, b); !same(got, []bool{true, true, false}) {
		t.Errorf("after removing B: %v", strs(got))
	}
}

// fakeWatch replays entries, then hands each later change to the store.
type fakeWatch struct {
	entries []store.Entry
	fn      func(store.Entry)
}

func (w *fakeWatch) Watch(_ context.Context, fn func(store.Entry), ready func()) error {
	for _, e := range w.entries {
		fn(e)
	}
	ready()
	w.fn = fn
	return nil
}

// TestRedactorFollowsOtherProcesses: a store watching the bucket learns
// the values another process set and removed.
func TestRedactorFollowsOtherProcesses(t *testing.T) {
	ctx := context.Background()
	writer, records, key := newStore(t)
	old, next := canary(), canary()
	if _, err := writer.Set(ctx, "OLD", secret.Value(old)); err != nil {
		t.Fatal(err)
	}
	reader := secrets.NewStore(records, key, nil)
	w := &fakeWatch{entries: []store.Entry{{Key: "s.OLD", Value: records.raw(t, "s.OLD")}, {Key: "s.bad", Value: []byte("{")}, {Key: "other", Value: []byte("x")}}}
	if err := reader.Watch(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got := redacts(reader.Redactor(nil, nil), old, next); !same(got, []bool{true, false}) {
		t.Errorf("after the replay: %v", strs(got))
	}
	if _, err := writer.Set(ctx, "NEXT", secret.Value(next)); err != nil {
		t.Fatal(err)
	}
	w.fn(store.Entry{Key: "s.NEXT", Value: records.raw(t, "s.NEXT")})
	w.fn(store.Entry{Key: "s.OLD", Deleted: true})
	if got := redacts(reader.Redactor(nil, nil), old, next); !same(got, []bool{false, true}) {
		t.Errorf("after the changes: %v", strs(got))
	}
}

// TestLatestVersionsAreReadFromMemory: once the watch has replayed the
// bucket, reading a secret's latest version costs no read of the store, and
// what is read is always the newest write, this process's or another's, in
// whatever order its own writes and the watch's deliveries arrive; removed
// and unreadable records go to the store, which says why.
func TestLatestVersionsAreReadFromMemory(t *testing.T) {
	ctx := context.Background()
	writer, records, key := newStore(t)
	var reads int
	records.beforeGet = func(string) { reads++ }
	entry := func(name string) store.Entry {
		t.Helper()
		e, err := records.Get(ctx, "s."+name)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	read := func(s *secrets.Store, name string, version int) (string, int, int, error) {
		t.Helper()
		before := reads
		v, n, err := s.Get(ctx, name, version)
		return v.Reveal(), n, reads - before, err
	}
	first, second, third := canary(), canary(), canary()
	if _, err := writer.Set(ctx, "A", secret.Value(first)); err != nil {
		t.Fatal(err)
	}
	replayed := entry("A")

	reader := secrets.NewStore(records, key, nil)
	if v, _, n, err := read(reader, "A", 0); err != nil || v != first || n != 1 {
		t.Fatalf("before the watch: %q, %d store reads, %v; want the value from the store", v, n, err)
	}
	w := &fakeWatch{entries: []store.Entry{replayed}}
	if err := reader.Watch(ctx, w); err != nil {
		t.Fatal(err)
	}
	if v, num, n, err := read(reader, "A", 0); err != nil || v != first || num != 1 || n != 0 {
		t.Fatalf("after the replay: %q version %d, %d store reads, %v; want version 1 from memory", v, num, n, err)
	}
	if v, _, n, err := read(reader, "A", 1); err != nil || v != first || n != 1 {
		t.Errorf("a pinned version: %q, %d store reads, %v; want it from the store", v, n, err)
	}

	// Another process writes; the watch delivers it.
	if _, err := writer.Set(ctx, "A", secret.Value(second)); err != nil {
		t.Fatal(err)
	}
	w.fn(entry("A"))
	if v, num, n, err := read(reader, "A", 0); err != nil || v != second || num != 2 || n != 0 {
		t.Errorf("after another process's write: %q version %d, %d store reads, %v", v, num, n, err)
	}
	// This process writes, then the watch delivers older changes late.
	if _, err := reader.Set(ctx, "A", secret.Value(third)); err != nil {
		t.Fatal(err)
	}
	w.fn(replayed)
	if v, num, _, err := read(reader, "A", 0); err != nil || v != third || num != 3 {
		t.Errorf("after a late delivery of an older write: %q version %d, %v; want version 3", v, num, err)
	}

	// Removed by another process: the store says it is gone.
	removed := entry("A")
	if err := writer.Remove(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	w.fn(store.Entry{Key: "s.A", Revision: removed.Revision + 1, Deleted: true})
	if _, _, n, err := read(reader, "A", 0); !errors.Is(err, secrets.ErrNotFound) || n != 1 {
		t.Errorf("after a removal: %d store reads, %v; want ErrNotFound from the store", n, err)
	}
	// Removed by this process: the same, at once.
	if _, err := reader.Set(ctx, "B", secret.Value(first)); err != nil {
		t.Fatal(err)
	}
	if err := reader.Remove(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := read(reader, "B", 0); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("after removing it here: %v; want ErrNotFound", err)
	}

	// Sealed under a master key this process does not hold.
	otherRecords := newMemRecords()
	other := secrets.NewStore(otherRecords, newKey(t), nil)
	if _, err := other.Set(ctx, "C", secret.Value(first)); err != nil {
		t.Fatal(err)
	}
	records.put("s.C", otherRecords.raw(t, "s.C"))
	w.fn(entry("C"))
	if _, _, n, err := read(reader, "C", 0); !errors.Is(err, secrets.ErrWrongMasterKey) || n != 1 {
		t.Errorf("a record under another master key: %d store reads, %v; want ErrWrongMasterKey from the store", n, err)
	}
}
