package limits

import (
	"sync"
	"sync/atomic"
)

// OwnerSlots bounds the invocations in flight per owner, across all of the
// owner's functions, so that one team cannot take every instance the daemon
// can run and starve another. It is safe for concurrent use. Memory is
// bounded by the number of invocations in flight: an owner with none has no
// entry.
type OwnerSlots struct {
	limit int
	// Nodes, when set, splits the limit across the live nodes: this node
	// allows its share (Nodes.Split). Set it before the first call.
	Nodes *Nodes

	mu       sync.Mutex
	inFlight map[string]int
}

// NewOwnerSlots returns slots allowing limit invocations in flight per
// owner; limit <= 0 means no limit (in-flight calls are still counted).
func NewOwnerSlots(limit int) *OwnerSlots {
	return &OwnerSlots{limit: limit, inFlight: make(map[string]int)}
}

// Acquire takes one of owner's slots without waiting. When ok, release
// gives the slot back; calling it again does nothing. When the owner is at
// its limit, ok is false and release is a no-op, so that a deferred call is
// always safe.
func (o *OwnerSlots) Acquire(owner string) (release func(), ok bool) {
	o.mu.Lock()
	n := o.inFlight[owner]
	if limit := o.Nodes.Split(o.limit); limit > 0 && n >= limit {
		o.mu.Unlock()
		return func() {}, false
	}
	o.inFlight[owner] = n + 1
	o.mu.Unlock()

	var done atomic.Bool
	return func() {
		if !done.CompareAndSwap(false, true) {
			return
		}
		o.mu.Lock()
		if n := o.inFlight[owner] - 1; n > 0 {
			o.inFlight[owner] = n
		} else {
			delete(o.inFlight, owner)
		}
		o.mu.Unlock()
	}, true
}

// InFlight returns the number of owner's invocations holding a slot.
func (o *OwnerSlots) InFlight(owner string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inFlight[owner]
}

// Limit returns the per-owner limit; 0 or less means none.
func (o *OwnerSlots) Limit() int { return o.limit }
