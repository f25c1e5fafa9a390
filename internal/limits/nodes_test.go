package limits

import (
	"fmt"
	"testing"
	"time"
)

func TestNodesSplit(t *testing.T) {
	for _, tc := range []struct {
		nodes, limit, want int
	}{
		{0, 10, 10}, // not counted yet: a node alone
		{1, 10, 10},
		{2, 10, 5},
		{3, 10, 3},
		{3, 2, 1}, // at least 1 each
		{3, 0, 0}, // no limit stays none
		{3, -1, -1},
		{4, 512, 128},
	} {
		n := &Nodes{}
		n.Set(tc.nodes)
		if got := n.Split(tc.limit); got != tc.want {
			t.Errorf("%d nodes: Split(%d) = %d, want %d", tc.nodes, tc.limit, got, tc.want)
		}
	}
	var none *Nodes
	if none.Count() != 1 || none.Split(7) != 7 || none.Rate(Rate{PerSecond: 5, Burst: 9}) != (Rate{PerSecond: 5, Burst: 9}) {
		t.Error("a nil *Nodes splits")
	}
	three := &Nodes{}
	three.Set(3)
	if got, want := three.Rate(Rate{PerSecond: 10, Burst: 10}), (Rate{PerSecond: 10.0 / 3, Burst: 3}); got != want {
		t.Errorf("Rate = %+v, want %+v", got, want)
	}
}

// TestLimitersSplitAcrossNodes runs N limiters as N nodes that see each
// other, hit round-robin much faster than the rate for T seconds: together
// they admit at most max(burst, N) + rate × T, the bound OPERATIONS.md
// states, and a node alone admits burst + rate × T as before.
func TestLimitersSplitAcrossNodes(t *testing.T) {
	const seconds = 2
	for _, tc := range []struct {
		nodes int
		rate  Rate
	}{
		{1, Rate{PerSecond: 10, Burst: 10}},
		{3, Rate{PerSecond: 10, Burst: 10}},
		{3, Rate{PerSecond: 10, Burst: 1}},
		{5, Rate{PerSecond: 100, Burst: 200}},
	} {
		t.Run(fmt.Sprintf("%d nodes %g/s burst %d", tc.nodes, tc.rate.PerSecond, tc.rate.Burst), func(t *testing.T) {
			clk := newClock(epoch)
			count := &Nodes{}
			count.Set(tc.nodes)
			lims := make([]*Limiter, tc.nodes)
			for i := range lims {
				lims[i] = NewLimiter(clk.Now)
				lims[i].Nodes = count
			}
			passed := 0
			const step = time.Millisecond
			for i := 0; i < seconds*int(time.Second/step); i++ {
				if lims[i%tc.nodes].Allow("function f", tc.rate).Allowed {
					passed++
				}
				clk.Advance(step)
			}
			bound := max(tc.rate.Burst, tc.nodes) + int(tc.rate.PerSecond*seconds)
			t.Logf("%d passed, bound %d", passed, bound)
			if passed > bound {
				t.Errorf("%d passed through %d nodes in %d s, over the bound %d", passed, tc.nodes, seconds, bound)
			}
			// The split wastes little: at least the rate over the time.
			if min := int(tc.rate.PerSecond * seconds); passed < min {
				t.Errorf("%d passed, fewer than %d", passed, min)
			}
		})
	}
}

func TestOwnerSlotsSplitAcrossNodes(t *testing.T) {
	count := &Nodes{}
	count.Set(3)
	o := NewOwnerSlots(10)
	o.Nodes = count
	for i := range 3 {
		if _, ok := o.Acquire("team"); !ok {
			t.Fatalf("slot %d refused", i+1)
		}
	}
	if _, ok := o.Acquire("team"); ok {
		t.Fatal("a fourth slot of 10 / 3 nodes was given")
	}
	count.Set(1)
	if _, ok := o.Acquire("team"); !ok {
		t.Fatal("a node alone again refused its fourth slot of 10")
	}
}
