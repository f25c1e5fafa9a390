package secrets

import (
	"sync"
	"sync/atomic"

	"github.com/pave-dev/pave/internal/secret"
)

// latest keeps the newest version of every secret, opened, so that a
// function reading a secret in every call costs a map lookup instead of a
// round trip to the store, a JSON decode and two AES-GCM openings. The
// values are those the index holds already for redaction: keeping the
// newest of them by name adds no plaintext to the process.
//
// It is served only while it is known to be current: from the moment the
// bucket's watch has replayed every record (Store.Watch) on, kept current by
// this process's own writes at once and by other processes' writes when the
// watch delivers them. Every change carries the record's revision, and a
// change older than the one held is ignored, so a write this process makes
// and the watch's delivery of a newer write from elsewhere cannot leave the
// older value in place whatever order they arrive in. A record whose newest
// version does not open (another master key, damage) is held as unknown,
// and reading it goes to the store, which reports why.
type latest struct {
	ready atomic.Bool
	mu    sync.RWMutex
	byKey map[string]latestEntry
}

// latestEntry is the state of one secret at a revision.
type latestEntry struct {
	revision uint64
	known    bool // value and number are the secret's newest version
	number   int
	value    secret.Value
}

// get returns the newest version of name when it is known.
func (l *latest) get(name string) (secret.Value, int, bool) {
	if !l.ready.Load() {
		return "", 0, false
	}
	l.mu.RLock()
	e, ok := l.byKey[name]
	l.mu.RUnlock()
	if !ok || !e.known {
		return "", 0, false
	}
	return e.value, e.number, true
}

// put records the state of name at revision: its newest version when known
// is set, or that it is removed or unreadable. A removal applies at a
// revision equal to the held one (Remove knows the revision of the record
// it deleted, not that of the deletion); anything else must be newer.
func (l *latest) put(name string, e latestEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byKey == nil {
		l.byKey = map[string]latestEntry{}
	}
	if held, ok := l.byKey[name]; ok && (e.revision < held.revision || e.revision == held.revision && e.known) {
		return
	}
	l.byKey[name] = e
}
