package store

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Health is the state of the store as one check found it.
type Health struct {
	// Connected is whether the connection to NATS is up.
	Connected bool `json:"connected"`
	// JetStream is whether JetStream answered.
	JetStream bool `json:"jetstream"`
	// Down names the streams (key-value buckets are streams KV_<bucket>,
	// object stores OBJ_<bucket>) that did not answer: no server holds
	// them, or the one that does is down.
	Down []string `json:"down,omitempty"`
	// CheckedAt is when the check ran.
	CheckedAt time.Time `json:"checked_at"`
}

// OK reports whether every part of the store answered.
func (h Health) OK() bool { return h.Connected && h.JetStream && len(h.Down) == 0 }

// checkTimeout bounds each request of Check; checkParallel is how many
// streams it asks at once.
const (
	checkTimeout  = 2 * time.Second
	checkParallel = 8
)

// streams are the names of the streams this connection opened.
type streams struct {
	mu    sync.Mutex
	names map[string]bool
}

func (s *streams) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
}

func (s *streams) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.names))
	for n := range s.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Check asks JetStream, and the leader of every stream this connection
// opened, whether they answer. It takes at most a few seconds however
// many are down.
func (n *NATS) Check(ctx context.Context) Health {
	h := Health{Connected: n.Connected(), CheckedAt: time.Now()}
	if !h.Connected {
		return h
	}
	actx, cancel := context.WithTimeout(ctx, checkTimeout)
	_, err := n.js.AccountInfo(actx)
	cancel()
	h.JetStream = err == nil
	if !h.JetStream {
		return h
	}
	names := n.opened.list()
	down := make([]bool, len(names))
	sem := make(chan struct{}, checkParallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			if _, err := n.js.Stream(sctx, name); err != nil {
				down[i] = true
			}
		}()
	}
	wg.Wait()
	for i, name := range names {
		if down[i] {
			h.Down = append(h.Down, name)
		}
	}
	return h
}
