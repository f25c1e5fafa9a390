package limits_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

func ExampleLimiter() {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	l := limits.NewLimiter(func() time.Time { return now })
	perKey := limits.Rate{PerSecond: 1, Burst: 2} // 60/m with bursts of 2

	for i := range 3 {
		d := l.Allow("id:orders:key_1", perKey)
		h := http.Header{}
		d.Headers(h, "per-key")
		fmt.Printf("%d allowed=%v RateLimit-Policy: %s RateLimit: %s Retry-After: %q\n",
			i, d.Allowed, h.Get("RateLimit-Policy"), h.Get("RateLimit"), h.Get("Retry-After"))
	}
	// Output:
	// 0 allowed=true RateLimit-Policy: "per-key";q=2;w=2 RateLimit: "per-key";r=1;t=1 Retry-After: ""
	// 1 allowed=true RateLimit-Policy: "per-key";q=2;w=2 RateLimit: "per-key";r=0;t=2 Retry-After: ""
	// 2 allowed=false RateLimit-Policy: "per-key";q=2;w=2 RateLimit: "per-key";r=0;t=1 Retry-After: "1"
}

func ExampleLedger() {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	ledger := limits.NewLedger(func() time.Time { return now }, func(a limits.Alert) {
		fmt.Printf("alert: %s %s at %d%%\n", a.Subject, a.Meter, a.Level)
	})
	subjects := []limits.Subject{
		{Name: limits.FunctionSubject("orders"), Budget: limits.Budget{Window: limits.Day, ComputeGBs: 1}},
		{Name: limits.OwnerSubject("team-a"), Budget: limits.Budget{Window: limits.Month, Invocations: 10000}},
	}
	const memory, timeout = 512 << 20, 500 * time.Millisecond // 0.25 GB-s at worst

	for range 7 {
		res, err := ledger.Reserve(subjects, 1024, memory, timeout)
		if errors.Is(err, limits.ErrBudgetExhausted) {
			fmt.Println("refused:", err)
			continue
		}
		// ... run the function, then settle with its wall time ...
		fmt.Printf("gave back %.3f GB-s\n", res.Settle(300*time.Millisecond))
	}
	u, _ := ledger.Usage("function:orders")
	fmt.Printf("used %.2f GB-s\n", u.ComputeGBs)
	// Output:
	// gave back 0.100 GB-s
	// gave back 0.100 GB-s
	// gave back 0.100 GB-s
	// gave back 0.100 GB-s
	// alert: function:orders compute at 80%
	// gave back 0.100 GB-s
	// alert: function:orders compute at 100%
	// gave back 0.100 GB-s
	// refused: function:orders: compute budget exhausted until 2026-03-15T00:00:00Z
	// used 0.90 GB-s
}

func ExampleCallDepth() {
	for _, incoming := range []string{"", "7", "8", "-1"} {
		depth, err := limits.CallDepth(incoming, limits.DefaultMaxCallDepth)
		fmt.Printf("%q -> %d %v\n", incoming, depth, err)
	}
	// Output:
	// "" -> 1 <nil>
	// "7" -> 8 <nil>
	// "8" -> 0 call depth limit exceeded: at most 8 nested calls
	// "-1" -> 0 invalid Pave-Call-Depth header
}
