package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/store"
)

// Records is where a daemon keeps its policy set: one record of its
// settings bucket, so that every node of a cluster reads the same set.
// *store.KV provides it.
type Records interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

var _ Records = (*store.KV)(nil)

// StoreKey is the key of the policy set in its bucket. Its value is a
// policy document in JSON.
const StoreKey = "policies"

// Store is a daemon's policy set. Every read checks the stored record's
// revision, so a set another node stored applies here from the next
// deploy on; the rules are compiled again only when it changed.
type Store struct {
	records Records

	mu  sync.Mutex
	rev uint64 // of set; 0: none stored
	set *Set
}

// NewStore returns the policy set kept in records.
func NewStore(records Records) *Store { return &Store{records: records} }

// Current returns the policy set in force: empty if none was ever set.
func (s *Store) Current(ctx context.Context) (*Set, error) {
	e, err := s.records.Get(ctx, StoreKey)
	if errors.Is(err, store.ErrNotFound) {
		return &Set{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set != nil && s.rev == e.Revision {
		return s.set, nil
	}
	set, err := Parse(StoreKey, e.Value)
	if err != nil {
		// Stored only after it compiled: a newer pave that reads it
		// otherwise must not let every deploy through.
		return nil, fmt.Errorf("the stored policies no longer compile: %w", err)
	}
	s.rev, s.set = e.Revision, set
	return set, nil
}

// Replace compiles rules and stores them as the policy set in force, in
// place of the one before; no rules clears it. Rules that do not compile
// are refused with the errors of Compile and nothing is stored.
func (s *Store) Replace(ctx context.Context, rules []Rule) (*Set, error) {
	if rules == nil {
		rules = []Rule{}
	}
	doc, err := json.Marshal(document{Policies: rules})
	if err != nil {
		return nil, err
	}
	// The stored form is read back by the one parser of policy documents,
	// so what is stored is exactly what a later read accepts.
	set, err := Parse("", doc)
	if err != nil {
		return nil, unlocated(err)
	}
	rev, err := s.records.Put(ctx, StoreKey, doc)
	if err != nil {
		return nil, fmt.Errorf("store the policies: %w", err)
	}
	s.mu.Lock()
	if rev > s.rev {
		s.rev, s.set = rev, set
	}
	s.mu.Unlock()
	return set, nil
}

// unlocated drops the positions from the errors of a document pave
// wrote itself: they would point into its JSON, not at anything the
// rules' author wrote. The field paths and CEL's positions in each
// expression stay.
func unlocated(err error) error {
	var list manifest.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	out := make(manifest.ErrorList, len(list))
	for i, e := range list {
		c := *e
		c.File, c.Line, c.Column = "", 0, 0
		out[i] = &c
	}
	return out
}

// document is the JSON form of a policy document.
type document struct {
	Policies []Rule `json:"policies"`
}
