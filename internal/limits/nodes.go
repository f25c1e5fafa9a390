package limits

import "sync/atomic"

// Nodes is the number of live nodes that share a store, across which the
// rate limits and the concurrency limits are split: each node admits its
// share of a limit, counted locally, so that no call waits for the store.
// The count follows the nodes' heartbeats (package members).
//
// A share is the limit divided by the count, rounded down but at least 1
// (Split), and a rate's share is its rate divided by the count with its
// burst split (Rate). With N nodes that see each other, the cluster admits
// at most max(limit, N) in flight and, over T seconds, max(burst, N) +
// rate × T requests of one bucket: never more than one node admitted
// alone unless the limit is below the number of nodes. A node that counts
// fewer nodes than there are (one joined since its last heartbeat read)
// admits a larger share until it reads again.
//
// A nil *Nodes, or a count below 2, splits nothing: a node alone keeps
// its exact limits. It is safe for concurrent use.
type Nodes struct{ n atomic.Int64 }

// Set records that n nodes are live.
func (s *Nodes) Set(n int) { s.n.Store(int64(n)) }

// Count returns the number of live nodes, at least 1.
func (s *Nodes) Count() int {
	if s == nil {
		return 1
	}
	return max(int(s.n.Load()), 1)
}

// Split returns this node's share of limit: limit / Count rounded down, at
// least 1. A limit of 0 or less (none) stays as it is.
func (s *Nodes) Split(limit int) int {
	n := s.Count()
	if n == 1 || limit <= 0 {
		return limit
	}
	return max(limit/n, 1)
}

// Rate returns this node's share of r: its rate divided by Count and its
// burst split.
func (s *Nodes) Rate(r Rate) Rate {
	n := s.Count()
	if n == 1 {
		return r
	}
	return Rate{PerSecond: r.PerSecond / float64(n), Burst: s.Split(r.Burst)}
}
