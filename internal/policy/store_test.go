package policy_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/internal/policy"
	"github.com/pave-dev/pave/internal/store"
)

// memRecords is a bucket in memory, shared by the stores of two "nodes".
type memRecords struct {
	mu  sync.Mutex
	rev uint64
	e   *store.Entry
}

func (r *memRecords) Get(_ context.Context, key string) (store.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.e == nil || r.e.Key != key {
		return store.Entry{}, store.ErrNotFound
	}
	return *r.e, nil
}

func (r *memRecords) Put(_ context.Context, key string, value []byte) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev++
	r.e = &store.Entry{Key: key, Value: value, Revision: r.rev}
	return r.rev, nil
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	records := &memRecords{}
	a, b := policy.NewStore(records), policy.NewStore(records)
	if set, err := a.Current(ctx); err != nil || set.Len() != 0 {
		t.Fatalf("nothing stored: %v, %d rules", err, set.Len())
	}
	m := parseManifest(t, "name: api\nowner: marketing\n")

	_, err := a.Replace(ctx, []policy.Rule{{Name: "owners", Expression: `manifest.owner in ["search"]`, Message: "known owners only"}})
	if err != nil {
		t.Fatal(err)
	}
	// The other node sees the new set at its next read.
	set, err := b.Current(ctx)
	if err != nil || len(set.Check(m)) != 1 {
		t.Fatalf("the other node's set: %v, %v", err, set.Rules())
	}

	// Rules that do not compile, or break the document's rules, change
	// nothing, and their errors point at no line of a file.
	for _, bad := range [][]policy.Rule{
		{{Name: "r", Expression: "manifest.nope", Message: "m"}},
		{{Name: "r", Expression: "true", Message: "m"}, {Name: "r", Expression: "true", Message: "m"}},
		{{Name: "Bad Name", Expression: "true", Message: "m"}},
	} {
		_, err := b.Replace(ctx, bad)
		if err == nil || strings.Contains(err.Error(), ":1:") {
			t.Errorf("Replace(%v) = %v", bad, err)
		}
	}
	if set, _ := a.Current(ctx); set.Len() != 1 || set.Rules()[0].Name != "owners" {
		t.Errorf("a refused set changed the rules: %v", set.Rules())
	}

	// No rules clears the set.
	if _, err := b.Replace(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if set, _ := a.Current(ctx); set.Len() != 0 || set.Admit(m) != nil {
		t.Errorf("cleared set: %v", set.Rules())
	}
}
