package limits

import "sync/atomic"

// DefaultMaxCalls is the number of invocations one root may cause when
// none is configured: the root's own and every one made for it. It is far
// above what a request of a real application causes (a handful of invoke
// calls and events), and far below what a recursion that fans out does
// within the call-depth cap (255 invocations for a fan-out of 2 at depth 8).
const DefaultMaxCalls = 100

// CallTree counts the invocations left to one root: a request from
// outside, an event a client published, a scheduled tick, an asynchronous
// call submitted from outside. Every invocation of the tree in this
// process takes one from the same CallTree, so a fan-out is bounded in
// total and not only in depth. Work the tree hands to a message (an event
// a function publishes) takes a share of what is left with it (Hand), and
// the invocations that message causes start a CallTree of that share, so
// that no unit of the allowance is spent twice, whichever process spends
// it.
//
// A CallTree is safe for concurrent use. The nil *CallTree bounds
// nothing.
type CallTree struct{ left atomic.Int64 }

// NewCallTree returns a CallTree that allows n invocations.
func NewCallTree(n int) *CallTree {
	t := &CallTree{}
	t.left.Store(int64(n))
	return t
}

// Take takes one invocation; false when none is left.
func (t *CallTree) Take() bool {
	if t == nil {
		return true
	}
	for {
		n := t.left.Load()
		if n <= 0 {
			return false
		}
		if t.left.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// Hand takes three quarters of what is left, rounded down, for a message:
// the invocations that message causes may make that many. Three quarters,
// so that a chain of functions each publishing one event for the next
// reaches the depth cap long before the count runs out (100 leaves 6 at
// depth 9), while a fan-out still divides what is left. ok is false, and
// nothing is taken, when fewer than 2 are left. The nil *CallTree hands 0
// with ok: no bound.
func (t *CallTree) Hand() (n int, ok bool) {
	if t == nil {
		return 0, true
	}
	for {
		left := t.left.Load()
		share := left * 3 / 4
		if share < 1 {
			return 0, false
		}
		if t.left.CompareAndSwap(left, left-share) {
			return int(share), true
		}
	}
}

// Left returns the invocations left.
func (t *CallTree) Left() int {
	if t == nil {
		return -1
	}
	return int(max(t.left.Load(), 0))
}

// Share is the allowance of each of n receivers of a message that carries
// allowance (such as the topic triggers an event runs): an even share,
// rounded down, so that together they cannot exceed it. 0 means the
// message carries none (a root's own; the receivers start from the
// configured maximum); -1 means nothing is left for this receiver, which
// is refused.
func Share(allowance, n int) int {
	if allowance <= 0 || n <= 1 {
		return allowance
	}
	if s := allowance / n; s > 0 {
		return s
	}
	return -1
}
