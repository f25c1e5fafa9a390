package webhook

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the deliveries accepted recently, so that a
// captured delivery sent again is refused. One cache may serve many
// routes: every key is namespaced by the caller.
//
// Memory is bounded: the cache holds at most max entries of a fixed size
// (a SHA-256 of namespace and id). An entry leaves only when it expires,
// the soonest-expiring first. A cache full of entries that have not
// expired refuses new deliveries with ErrReplayCacheFull instead of
// forgetting one: forgetting would let that delivery be replayed (fail
// closed). Since Verifier records a delivery only after its signature is
// verified, only holders of a secret can fill the cache.
//
// It is safe for concurrent use. Make one with NewReplayCache; the zero
// value is not usable. The cache lives in memory: it protects one process,
// and a restart forgets it, unless it is shared (Share): then a delivery
// is accepted once across every cache sharing the store.
type ReplayCache struct {
	window time.Duration
	max    int
	shared SharedReplays

	mu      sync.Mutex
	entries map[replayKey]*replayEntry
	expiry  expiryHeap
}

type replayKey [sha256.Size]byte

type replayEntry struct {
	key     replayKey
	expires time.Time // the entry is live while now is not after it
}

// SharedReplays is a store of delivery keys that several caches (nodes)
// share. Claim records key, to be kept at least SharedWindow, and
// reports whether it was not recorded before: a create-only write, so of
// two caches claiming one key at once exactly one gets true.
type SharedReplays interface {
	Claim(ctx context.Context, key string) (bool, error)
}

// SharedWindow is how long a SharedReplays must keep a key: as long as
// any delivery is remembered (an untimed one; a timestamped one expires
// within twice MaxTolerance).
const SharedWindow = UntimedReplayWindow

// ErrReplayUnavailable means the shared store of deliveries could not be
// reached: the delivery is refused (fail closed).
var ErrReplayUnavailable = errors.New("webhook: replay store unavailable")

// sharedTimeout bounds the claims of one delivery in the shared store.
const sharedTimeout = 2 * time.Second

// Share makes the cache consult shared for every delivery it has not seen
// itself. Call it before the first Seen or Verify.
func (c *ReplayCache) Share(shared SharedReplays) { c.shared = shared }

// NewReplayCache returns a cache whose Seen remembers ids for window and
// that holds at most max entries. It panics if window or max is not
// positive, which is a programming error.
func NewReplayCache(window time.Duration, max int) *ReplayCache {
	if window <= 0 || max <= 0 {
		panic("webhook: NewReplayCache needs a positive window and size")
	}
	return &ReplayCache{window: window, max: max, entries: make(map[replayKey]*replayEntry)}
}

// Seen records id under namespace at now and reports whether it was
// already present within the window. When the cache is full of unexpired
// entries it returns ErrReplayCacheFull and records nothing; an id already
// present is still reported as seen.
func (c *ReplayCache) Seen(namespace, id string, now time.Time) (bool, error) {
	return c.record(now, now.Add(c.window), keyOf(namespace, id))
}

// Len returns the number of entries, expired ones included until they are
// purged by the next call to Seen or Verify.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// keyOf hashes namespace and id with the namespace's length in front, so
// that no pair collides with another by moving bytes across the boundary.
func keyOf(namespace, id string) replayKey {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(namespace)))
	h.Write(n[:])
	h.Write([]byte(namespace))
	h.Write([]byte(id))
	var k replayKey
	h.Sum(k[:0])
	return k
}

// record reports whether any of keys is live at now; if none is, it
// records them all, to expire at expires. It is all or nothing: a full
// cache records none of them. A shared cache then claims them in the
// shared store; a key another cache claimed first makes the delivery
// seen.
func (c *ReplayCache) record(now, expires time.Time, keys ...replayKey) (bool, error) {
	c.mu.Lock()
	seen, err := c.check(now, keys)
	if seen || err != nil || c.shared == nil {
		if !seen && err == nil {
			seen, err = c.add(now, expires, keys)
		}
		c.mu.Unlock()
		return seen, err
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	// In the same order on every node, stopping at the first key claimed
	// before: of concurrent claims of one delivery, the one that takes
	// the first key takes them all.
	fresh := true
	for _, k := range keys {
		ok, err := c.shared.Claim(ctx, "replay."+hex.EncodeToString(k[:]))
		if err != nil {
			return false, fmt.Errorf("%w: %w", ErrReplayUnavailable, err)
		}
		if !ok {
			fresh = false
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen, err = c.add(now, expires, keys)
	if err != nil && !fresh {
		return true, nil // a replay, however full the cache
	}
	return seen || !fresh, err
}

// check purges expired entries and reports whether any of keys is live.
// The caller holds c.mu.
func (c *ReplayCache) check(now time.Time, keys []replayKey) (bool, error) {
	for len(c.expiry) > 0 && now.After(c.expiry[0].expires) {
		e := heap.Pop(&c.expiry).(*replayEntry)
		delete(c.entries, e.key)
	}
	for _, k := range keys {
		if _, ok := c.entries[k]; ok {
			return true, nil
		}
	}
	if len(c.entries)+len(keys) > c.max {
		return false, ErrReplayCacheFull
	}
	return false, nil
}

// add is check, then records keys if none is live. The caller holds
// c.mu.
func (c *ReplayCache) add(now, expires time.Time, keys []replayKey) (bool, error) {
	if seen, err := c.check(now, keys); seen || err != nil {
		return seen, err
	}
	for _, k := range keys {
		if _, dup := c.entries[k]; dup {
			continue // the same key twice in keys
		}
		e := &replayEntry{key: k, expires: expires}
		c.entries[k] = e
		heap.Push(&c.expiry, e)
	}
	return false, nil
}

// expiryHeap orders entries by expiry, soonest first.
type expiryHeap []*replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(*replayEntry)) }

func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
