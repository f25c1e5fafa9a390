package limits

import (
	"sync"
	"testing"
)

// TestCallTreeTake: concurrent invocations of one tree take exactly its
// allowance, never more.
func TestCallTreeTake(t *testing.T) {
	tree := NewCallTree(100)
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if tree.Take() {
					mu.Lock()
					taken++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if taken != 100 || tree.Left() != 0 || tree.Take() {
		t.Errorf("took %d of 100, %d left", taken, tree.Left())
	}
	var none *CallTree
	if !none.Take() {
		t.Error("the nil CallTree refused")
	}
	if n, ok := none.Hand(); n != 0 || !ok {
		t.Errorf("the nil CallTree handed %d, %v", n, ok)
	}
}

// TestCallTreeHand: a message takes three quarters of what is left, and what is
// handed and what stays never add up to more than the allowance.
func TestCallTreeHand(t *testing.T) {
	for _, tt := range []struct {
		left, hand, after int
		ok                bool
	}{
		{100, 75, 25, true},
		{99, 74, 25, true},
		{3, 2, 1, true},
		{2, 1, 1, true},
		{1, 0, 1, false},
		{0, 0, 0, false},
	} {
		tree := NewCallTree(tt.left)
		n, ok := tree.Hand()
		if n != tt.hand || ok != tt.ok || tree.Left() != tt.after {
			t.Errorf("Hand of %d = %d, %v, %d left; want %d, %v, %d left", tt.left, n, ok, tree.Left(), tt.hand, tt.ok, tt.after)
		}
	}
	// However a tree splits its allowance between invocations and
	// messages, the total never exceeds it.
	tree := NewCallTree(100)
	total := 0
	var spend func(t *CallTree)
	spend = func(t *CallTree) {
		for t.Take() {
			total++
			if n, ok := t.Hand(); ok {
				spend(NewCallTree(n))
			}
		}
	}
	spend(tree)
	if total != 100 {
		t.Errorf("a tree of 100 spent %d", total)
	}
}

func TestShare(t *testing.T) {
	for _, tt := range []struct{ allowance, n, want int }{
		{0, 3, 0},   // a root's event: every receiver starts a request
		{30, 0, 30}, // no trigger counted (yet): one receiver
		{30, 1, 30},
		{30, 3, 10},
		{31, 3, 10},
		{2, 3, -1}, // nothing for each: refused
		{-1, 2, -1},
	} {
		if got := Share(tt.allowance, tt.n); got != tt.want {
			t.Errorf("Share(%d, %d) = %d, want %d", tt.allowance, tt.n, got, tt.want)
		}
	}
}
