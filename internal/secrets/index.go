package secrets

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// index keeps a Redactor over every value the store holds: every stored
// version of every secret, whoever it is granted to. Output of any
// function, log line and record is redacted with it, so that a value that
// travelled from the function granted it to another one (through a
// bucket, an event, an invoke result, an asynchronous result) is hidden
// wherever it leaves. All secrets rather than the owner's: secrets are not
// owned (their names are global), and events and invoke cross owners.
// All stored versions rather than the latest: a function only reads the
// latest, but what it wrote somewhere before a rotation is still there.
//
// The Redactor is rebuilt when a secret is set or removed, by this process
// (at once) or by another one sharing the store (when the bucket's watch
// delivers the change), never on the request path: reading it is one
// atomic load, and with no secret stored it is nil and costs nothing.
type index struct {
	mu     sync.Mutex
	byName map[string][]secret.Value
	cur    atomic.Pointer[redaction]
}

// redaction is one immutable state of the index.
type redaction struct {
	all    *Redactor
	values map[string]bool // every value all redacts, or would if it were long enough
	byName map[string][]secret.Value

	mu        sync.Mutex
	excluding map[string]*Redactor // by the joined names left out
}

// noRedaction is the state before anything is loaded.
var noRedaction redaction

// maxWithout bounds the Redactors kept for routes that opt out of
// redacting their own secrets; past it the cache starts over.
const maxWithout = 256

// set replaces the values of name (none removes it) and rebuilds.
func (x *index) set(name string, values []secret.Value) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byName == nil {
		x.byName = map[string][]secret.Value{}
	}
	if len(values) == 0 {
		delete(x.byName, name)
	} else {
		x.byName[name] = values
	}
	x.rebuild()
}

// add adds value to those of name and rebuilds.
func (x *index) add(name string, value secret.Value) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byName == nil {
		x.byName = map[string][]secret.Value{}
	}
	if !slices.Contains(x.byName[name], value) {
		x.byName[name] = append(slices.Clone(x.byName[name]), value)
	}
	x.rebuild()
}

// rebuild publishes a new state; x.mu is held.
func (x *index) rebuild() {
	r := &redaction{values: map[string]bool{}, byName: make(map[string][]secret.Value, len(x.byName))}
	var all []secret.Value
	for name, vs := range x.byName {
		r.byName[name] = vs
		for _, v := range vs {
			r.values[v.Reveal()] = true
			all = append(all, v)
		}
	}
	if len(all) > 0 {
		r.all = NewRedactor(all)
	}
	x.cur.Store(r)
}

// Redactor returns a Redactor over the value of every stored secret, and
// over extra, less the values of the secrets named in except; nil when that
// leaves nothing to redact. Without except, and with extra values the store
// holds already (the values a function read), it is the one Redactor
// rebuilt when secrets change, and costs an atomic load.
func (s *Store) Redactor(extra []secret.Value, except []string) *Redactor {
	r := s.index.cur.Load()
	if r == nil {
		r = &noRedaction
	}
	if len(except) > 0 {
		return r.without(except, extra)
	}
	for _, v := range extra {
		if !r.values[v.Reveal()] {
			// Set by another process since the last rebuild: not known
			// yet, and redacted all the same.
			return nonEmpty(NewRedactor(append(r.allValues(nil), extra...)))
		}
	}
	return nonEmpty(r.all)
}

func nonEmpty(r *Redactor) *Redactor {
	if r.Empty() {
		return nil
	}
	return r
}

// allValues returns the values of every secret but those named in except.
func (r *redaction) allValues(except []string) []secret.Value {
	var out []secret.Value
	for name, vs := range r.byName {
		if !slices.Contains(except, name) {
			out = append(out, vs...)
		}
	}
	return out
}

// without returns the Redactor over extra and every value but those of the
// secrets named in except, built once per state and set of names.
func (r *redaction) without(except []string, extra []secret.Value) *Redactor {
	if len(extra) > 0 {
		return nonEmpty(NewRedactor(append(r.allValues(except), extra...)))
	}
	key := strings.Join(except, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if red, ok := r.excluding[key]; ok {
		return red
	}
	if r.excluding == nil || len(r.excluding) >= maxWithout {
		r.excluding = map[string]*Redactor{}
	}
	red := nonEmpty(NewRedactor(r.allValues(except)))
	r.excluding[key] = red
	return red
}

// watcher is the part of *store.KV that Watch follows.
type watcher interface {
	Watch(ctx context.Context, fn func(store.Entry), ready func()) error
}

// Watch keeps the Redactor current with w, which must be the bucket the
// store reads: it replays every record, then follows the changes other
// processes make, until ctx ends. It returns once the replay is done. A
// record this store cannot open (another master key, damage) adds what
// it can: the versions that open.
func (s *Store) Watch(ctx context.Context, w watcher) error {
	replaying := true
	loaded := map[string][]secret.Value{}
	return w.Watch(ctx, func(e store.Entry) {
		name, ok := nameOf(e.Key)
		if !ok {
			return
		}
		var values []secret.Value
		newest := latestEntry{revision: e.Revision}
		if !e.Deleted {
			values, newest = s.open(name, e)
		}
		s.latest.put(name, newest)
		if replaying {
			loaded[name] = values
			return
		}
		s.index.set(name, values)
	}, func() {
		replaying = false
		s.latest.ready.Store(true)
		s.index.mu.Lock()
		defer s.index.mu.Unlock()
		if s.index.byName == nil {
			s.index.byName = map[string][]secret.Value{}
		}
		for name, vs := range loaded {
			if len(vs) > 0 {
				s.index.byName[name] = vs
			}
		}
		s.index.rebuild()
	})
}

// open returns the values of every version of a stored record that opens,
// and the record's newest version, known if it opens.
func (s *Store) open(name string, e store.Entry) ([]secret.Value, latestEntry) {
	newest := latestEntry{revision: e.Revision}
	rec, err := decodeRecord(name, e.Value)
	if err != nil {
		return nil, newest
	}
	ring := s.ring.Load()
	var out []secret.Value
	for i := range rec.Versions {
		plain, err := ring.open(name, &rec.Versions[i])
		if err != nil {
			continue
		}
		v := secret.Value(plain)
		clear(plain)
		out = append(out, v)
		if i == len(rec.Versions)-1 {
			newest = latestEntry{revision: e.Revision, known: true, number: rec.Versions[i].Number, value: v}
		}
	}
	return out, newest
}
