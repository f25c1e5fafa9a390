package daemon

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// healthInterval is how often the store is checked for /v1/health and the
// pave_jetstream_connected gauge.
const healthInterval = 5 * time.Second

// storeHealth keeps the last check of the store; the connection's state is
// read live on top of it, so a lost connection shows at once.
type storeHealth struct {
	n    *store.NATS
	last atomic.Pointer[store.Health]
}

// check checks the store now.
func (s *storeHealth) check(ctx context.Context) {
	h := s.n.Check(ctx)
	s.last.Store(&h)
}

// run checks the store every healthInterval until ctx ends.
func (s *storeHealth) run(ctx context.Context) {
	every(ctx, healthInterval, func() { s.check(ctx) })
}

// Health implements adminapi.Health: the last check, with the connection
// as it is now.
func (s *storeHealth) Health() (bool, any) {
	h := store.Health{}
	if last := s.last.Load(); last != nil {
		h = *last
	}
	if !s.n.Connected() {
		h.Connected, h.JetStream, h.Down = false, false, nil
	}
	return h.OK(), h
}

// up is 1 while the store answers, for the gauge.
func (s *storeHealth) up() float64 {
	if ok, _ := s.Health(); ok {
		return 1
	}
	return 0
}
