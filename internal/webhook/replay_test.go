package webhook

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestReplayCacheWindow(t *testing.T) {
	c := NewReplayCache(time.Minute, 10)
	t0 := testNow
	steps := []struct {
		ns, id string
		at     time.Duration
		seen   bool
	}{
		{"r1", "a", 0, false},
		{"r1", "a", 0, true},
		{"r1", "a", time.Minute, true},                     // the window's last instant
		{"r2", "a", time.Second, false},                    // another namespace
		{"r1", "b", time.Second, false},                    // another id
		{"r1", "a", time.Minute + time.Nanosecond, false},  // expired: recorded afresh
		{"r1", "a", 2*time.Minute + time.Nanosecond, true}, // ...for a new window
		{"r1", "a", 2*time.Minute + 2*time.Nanosecond, false},
		{"r1", "b", 3 * time.Minute, false},
	}
	for i, s := range steps {
		seen, err := c.Seen(s.ns, s.id, t0.Add(s.at))
		if err != nil || seen != s.seen {
			t.Fatalf("step %d: Seen(%q, %q, +%v) = %v, %v; want %v", i, s.ns, s.id, s.at, seen, err, s.seen)
		}
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (expired entries purged)", c.Len())
	}
}

// TestReplayCacheKeys: the namespace boundary cannot be moved.
func TestReplayCacheKeys(t *testing.T) {
	c := NewReplayCache(time.Minute, 10)
	for _, p := range [][2]string{{"ab", "c"}, {"a", "bc"}, {"", "abc"}, {"abc", ""}, {"a\x00", "bc"}} {
		if seen, err := c.Seen(p[0], p[1], testNow); seen || err != nil {
			t.Fatalf("Seen(%q, %q) = %v, %v: collides with an earlier pair", p[0], p[1], seen, err)
		}
	}
}

func TestReplayCacheBounded(t *testing.T) {
	const max = 3
	c := NewReplayCache(time.Minute, max)
	for i := range max {
		if seen, err := c.Seen("ns", fmt.Sprint(i), testNow.Add(time.Duration(i)*time.Second)); seen || err != nil {
			t.Fatalf("id %d: %v, %v", i, seen, err)
		}
	}
	// Full of live entries: refuse rather than forget.
	if seen, err := c.Seen("ns", "new", testNow.Add(3*time.Second)); seen || !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("Seen into a full cache = %v, %v; want ErrReplayCacheFull", seen, err)
	}
	if c.Len() != max {
		t.Fatalf("Len = %d after a refusal, want %d", c.Len(), max)
	}
	// Every id is still remembered, and still reported.
	for i := range max {
		if seen, err := c.Seen("ns", fmt.Sprint(i), testNow.Add(4*time.Second)); !seen || err != nil {
			t.Fatalf("id %d forgotten: %v, %v", i, seen, err)
		}
	}
	// When the oldest expires, exactly one slot opens.
	at := testNow.Add(time.Minute + time.Second/2)
	if seen, err := c.Seen("ns", "new", at); seen || err != nil {
		t.Fatalf("after the oldest expired: %v, %v", seen, err)
	}
	if _, err := c.Seen("ns", "newer", at); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("only one entry had expired, yet: %v", err)
	}
	if seen, _ := c.Seen("ns", "0", at); seen {
		t.Fatal("the expired entry is still reported")
	}
	if seen, _ := c.Seen("ns", "1", at); !seen {
		t.Fatal("a live entry was evicted")
	}
}

// TestReplayCacheRecordAll: a delivery identified by several keys is
// recorded whole or not at all.
func TestReplayCacheRecordAll(t *testing.T) {
	c := NewReplayCache(time.Minute, 3)
	exp := testNow.Add(time.Minute)
	a, b, x := keyOf("ns", "a"), keyOf("ns", "b"), keyOf("ns", "x")
	if seen, err := c.record(testNow, exp, a, b); seen || err != nil {
		t.Fatal(seen, err)
	}
	if seen, err := c.record(testNow, exp, x, b); !seen || err != nil {
		t.Fatalf("one known key of two: %v, %v; want seen", seen, err)
	}
	if c.Len() != 2 {
		t.Fatalf("a refused delivery recorded a key: Len = %d", c.Len())
	}
	if _, err := c.record(testNow, exp, x, keyOf("ns", "y")); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("two keys into one free slot: %v", err)
	}
	if c.Len() != 2 {
		t.Fatalf("a refused delivery recorded a key: Len = %d", c.Len())
	}
}

// TestReplayCacheConcurrent: under -race, every id is first seen exactly
// once however many goroutines offer it.
func TestReplayCacheConcurrent(t *testing.T) {
	const workers, ids = 8, 200
	c := NewReplayCache(time.Hour, workers*ids)
	var mu sync.Mutex
	first := make(map[string]int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprint((i + w*37) % ids)
				seen, err := c.Seen("ns", id, testNow.Add(time.Duration(w)*time.Millisecond))
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					mu.Lock()
					first[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(first) != ids {
		t.Fatalf("%d ids first seen, want %d", len(first), ids)
	}
	for id, n := range first {
		if n != 1 {
			t.Fatalf("id %s first seen %d times", id, n)
		}
	}
}

// TestVerifyConcurrent: the same delivery raced through one verifier is
// accepted once.
func TestVerifyConcurrent(t *testing.T) {
	gh := senders[0]
	key := newKey(t)
	v := gh.verifier(t, NewReplayCache(time.Hour, 100), key)
	h := gh.sign(key, "body", 0, "d1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(h, []byte("body"), testNow)
			switch {
			case err == nil:
				mu.Lock()
				accepted++
				mu.Unlock()
			case !errors.Is(err, ErrReplay):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Fatalf("accepted %d times, want once", accepted)
	}
}

func TestNewReplayCachePanics(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		max    int
	}{{0, 1}, {-time.Second, 1}, {time.Second, 0}, {time.Second, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewReplayCache(%v, %d) did not panic", c.window, c.max)
				}
			}()
			NewReplayCache(c.window, c.max)
		}()
	}
}
