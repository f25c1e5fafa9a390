package webhook_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/webhook"
)

// memReplays is a SharedReplays in memory.
type memReplays struct {
	mu   sync.Mutex
	keys map[string]bool
	down bool
}

func (m *memReplays) Claim(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, errors.New("store down")
	}
	if m.keys[key] {
		return false, nil
	}
	m.keys[key] = true
	return true, nil
}

// TestSharedReplayCache is three caches (three nodes) sharing a store:
// a delivery sent to all three at once is accepted by exactly one, and
// once by a cache that did not see it itself.
func TestSharedReplayCache(t *testing.T) {
	shared := &memReplays{keys: map[string]bool{}}
	var caches []*webhook.ReplayCache
	for range 3 {
		c := webhook.NewReplayCache(time.Hour, 100)
		c.Share(shared)
		caches = append(caches, c)
	}
	now := time.Now()
	for round := range 20 {
		id := "delivery-" + string(rune('a'+round))
		var wg sync.WaitGroup
		accepted := make([]bool, len(caches))
		for i, c := range caches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen, err := c.Seen("ns", id, now)
				if err != nil {
					t.Error(err)
				}
				accepted[i] = !seen
			}()
		}
		wg.Wait()
		n := 0
		for _, a := range accepted {
			if a {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s accepted by %d of three caches, want 1", id, n)
		}
	}
	// The store down: a delivery none has seen is refused, fail closed.
	shared.down = true
	if _, err := caches[0].Seen("ns", "new", now); !errors.Is(err, webhook.ErrReplayUnavailable) {
		t.Fatalf("Seen with the store down: %v, want ErrReplayUnavailable", err)
	}
}
