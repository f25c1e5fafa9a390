package webhook

import (
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
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
// and a restart forgets it.
type ReplayCache struct {
	window time.Duration
	max    int

	mu      sync.Mutex
	entries map[replayKey]*replayEntry
	expiry  expiryHeap
}

type replayKey [sha256.Size]byte

type replayEntry struct {
	key     replayKey
	expires time.Time // the entry is live while now is not after it
}

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
// cache records none of them.
func (c *ReplayCache) record(now, expires time.Time, keys ...replayKey) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
