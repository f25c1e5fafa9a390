package limits

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Owner A hammering its slots from many goroutines never holds more than
// its limit, and never costs owner B a slot.
func TestOwnerSlotsIsolation(t *testing.T) {
	const limit = 4
	o := NewOwnerSlots(limit)

	var aHeld, aPeak, aRefused atomic.Int64
	var bRefused atomic.Int64
	stop := make(chan struct{})
	var hammer sync.WaitGroup
	for range 32 {
		hammer.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				release, ok := o.Acquire("team-a")
				if !ok {
					aRefused.Add(1)
					continue
				}
				n := aHeld.Add(1)
				for {
					peak := aPeak.Load()
					if n <= peak || aPeak.CompareAndSwap(peak, n) {
						break
					}
				}
				aHeld.Add(-1)
				release()
			}
		})
	}

	// B has exactly as many workers as slots: none of its acquisitions
	// may fail, however busy A is.
	var b sync.WaitGroup
	for range limit {
		b.Go(func() {
			for range 2000 {
				release, ok := o.Acquire("team-b")
				if !ok {
					bRefused.Add(1)
					continue
				}
				release()
			}
		})
	}
	b.Wait()
	close(stop)
	hammer.Wait()

	if n := bRefused.Load(); n != 0 {
		t.Errorf("owner B was refused %d times while owner A was busy", n)
	}
	if p := aPeak.Load(); p > limit {
		t.Errorf("owner A held %d slots at once, limit %d", p, limit)
	}
	if aRefused.Load() == 0 {
		t.Log("owner A was never refused; the hammer did not saturate it")
	}
	for _, owner := range []string{"team-a", "team-b"} {
		if n := o.InFlight(owner); n != 0 {
			t.Errorf("%s has %d in flight after every release", owner, n)
		}
	}
	if len(o.inFlight) != 0 {
		t.Errorf("%d owners still recorded", len(o.inFlight))
	}
}

// Saturation is deterministic too: with A at its limit, A is refused and B
// is not.
func TestOwnerSlotsSaturated(t *testing.T) {
	o := NewOwnerSlots(2)
	r1, ok1 := o.Acquire("a")
	_, ok2 := o.Acquire("a")
	if !ok1 || !ok2 {
		t.Fatal("a was refused below its limit")
	}
	release, ok := o.Acquire("a")
	if ok {
		t.Fatal("a was allowed over its limit")
	}
	release() // a refusal's release is a safe no-op
	if n := o.InFlight("a"); n != 2 {
		t.Fatalf("a has %d in flight, want 2", n)
	}
	if _, ok := o.Acquire("b"); !ok {
		t.Fatal("b was refused because a is saturated")
	}
	r1()
	if _, ok := o.Acquire("a"); !ok {
		t.Fatal("a released slot was not reusable")
	}
}

// Releasing twice frees one slot, not two.
func TestOwnerSlotsReleaseIdempotent(t *testing.T) {
	o := NewOwnerSlots(2)
	r1, _ := o.Acquire("a")
	o.Acquire("a")
	r1()
	r1()
	r1()
	if n := o.InFlight("a"); n != 1 {
		t.Fatalf("%d in flight after releasing one of two three times", n)
	}
	if _, ok := o.Acquire("a"); !ok {
		t.Fatal("the released slot is not available")
	}
	if _, ok := o.Acquire("a"); ok {
		t.Fatal("a repeated release freed a slot still in use")
	}
}

func TestOwnerSlotsReleaseIdempotentConcurrently(t *testing.T) {
	o := NewOwnerSlots(10)
	release, _ := o.Acquire("a")
	o.Acquire("a")
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(release)
	}
	wg.Wait()
	if n := o.InFlight("a"); n != 1 {
		t.Fatalf("%d in flight, want 1", n)
	}
}

func TestOwnerSlotsUnlimited(t *testing.T) {
	for _, limit := range []int{0, -1} {
		o := NewOwnerSlots(limit)
		var releases []func()
		for range 1000 {
			r, ok := o.Acquire("a")
			if !ok {
				t.Fatalf("limit %d refused", limit)
			}
			releases = append(releases, r)
		}
		if n := o.InFlight("a"); n != 1000 {
			t.Fatalf("limit %d: %d in flight", limit, n)
		}
		for _, r := range releases {
			r()
		}
		if n := o.InFlight("a"); n != 0 {
			t.Fatalf("limit %d: %d in flight after release", limit, n)
		}
	}
}
