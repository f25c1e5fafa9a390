package limits_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

// counter is a Leaser in memory: the shared counter several ledgers
// lease from.
type counter struct {
	mu      sync.Mutex
	granted map[string]limits.Amounts
	calls   int
	fail    bool
}

func (c *counter) Lease(subject string, w limits.Window, start time.Time, limit, want limits.Amounts) (limits.Amounts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return limits.Amounts{}, errors.New("store down")
	}
	key := subject + string(w) + start.String()
	g := c.granted[key]
	var got limits.Amounts
	for m := range got {
		got[m] = min(want[m], max(limit[m]-g[m], 0))
		g[m] += got[m]
	}
	c.granted[key] = g
	return got, nil
}

func (c *counter) Return(subject string, w limits.Window, start time.Time, amount limits.Amounts) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := subject + string(w) + start.String()
	g := c.granted[key]
	for m := range g {
		g[m] = max(g[m]-amount[m], 0)
	}
	c.granted[key] = g
	return nil
}

// TestSharedBudget is three ledgers (three nodes) leasing one budget of
// 100 invocations: 600 calls round-robin, concurrently, admit exactly 100,
// and the shared counter is asked once per lease, not once per call.
func TestSharedBudget(t *testing.T) {
	c := &counter{granted: map[string]limits.Amounts{}}
	now := func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	var ledgers []*limits.Ledger
	for range 3 {
		l := limits.NewLedger(now, nil)
		l.ShareWith(c)
		ledgers = append(ledgers, l)
	}
	subjects := []limits.Subject{{Name: "function:f", Budget: limits.Budget{Invocations: 100}}}
	var admitted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for i := range 600 {
		admitted.Add(1)
		go func() {
			defer admitted.Done()
			r, err := ledgers[i%3].Reserve(subjects, 0, 0, 0)
			switch {
			case err == nil:
				r.Settle(0)
				mu.Lock()
				n++
				mu.Unlock()
			case !errors.Is(err, limits.ErrBudgetExhausted):
				t.Error(err)
			}
		}()
	}
	admitted.Wait()
	if n != 100 {
		t.Errorf("%d calls admitted through three ledgers, want 100", n)
	}
	// 100/LeaseParts = 5 a lease: 20 leases, and a few more asked for
	// by calls that met an exhausted counter, all refused.
	t.Logf("the shared counter was asked %d times for 600 calls", c.calls)
	if c.calls > 600/3 {
		t.Errorf("the shared counter was asked %d times for 600 calls", c.calls)
	}
}

// TestSharedBudgetReturnsIdleLeases: a ledger gives back what it leased
// and did not use once no call came for a while, so another ledger can
// spend it.
func TestSharedBudgetReturnsIdleLeases(t *testing.T) {
	c := &counter{granted: map[string]limits.Amounts{}}
	now := func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	a, b := limits.NewLedger(now, nil), limits.NewLedger(now, nil)
	a.ShareWith(c)
	b.ShareWith(c)
	subjects := []limits.Subject{{Name: "function:f", Budget: limits.Budget{Invocations: 10}}}
	spend := func(l *limits.Ledger, calls int) int {
		ok := 0
		for range calls {
			if r, err := l.Reserve(subjects, 0, 0, 0); err == nil {
				r.Settle(0)
				ok++
			}
		}
		return ok
	}
	if got := spend(a, 1); got != 1 {
		t.Fatalf("a: %d admitted", got)
	}
	// a holds a lease of 2 (1 used); the first ReturnLeases sees it was
	// busy, the second gives the unused one back.
	if err := a.ReturnLeases(true); err != nil {
		t.Fatal(err)
	}
	if err := a.ReturnLeases(true); err != nil {
		t.Fatal(err)
	}
	if got := spend(b, 20); got != 9 {
		t.Fatalf("b spent %d of the 9 left, want 9", got)
	}
	if got := spend(a, 5); got != 0 {
		t.Fatalf("a spent %d after b took the rest", got)
	}

	// An unreachable counter refuses the call: a budget fails closed.
	c.fail = true
	other := []limits.Subject{{Name: "function:g", Budget: limits.Budget{Invocations: 10}}}
	if _, err := a.Reserve(other, 0, 0, 0); !errors.Is(err, limits.ErrLeaseUnavailable) {
		t.Fatalf("Reserve with the counter down: %v, want ErrLeaseUnavailable", err)
	}
}

// BenchmarkReserveLeased admits and settles calls on a ledger of its own and on
// one that leases from a shared counter: the counter is asked once per
// twentieth of the budget, so the two cost about the same per call.
func BenchmarkReserveLeased(b *testing.B) {
	subjects := []limits.Subject{{Name: "function:f", Budget: limits.Budget{Invocations: 1e12, ComputeGBs: 1e9}}}
	for _, shared := range []bool{false, true} {
		name := "local"
		if shared {
			name = "leased"
		}
		b.Run(name, func(b *testing.B) {
			l := limits.NewLedger(time.Now, nil)
			c := &counter{granted: map[string]limits.Amounts{}}
			if shared {
				l.ShareWith(c)
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := l.Reserve(subjects, 100, 64<<20, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				r.Settle(time.Millisecond)
			}
			b.ReportMetric(float64(c.calls)/float64(b.N), "leases/op")
		})
	}
}
