package observe_test

import (
	"context"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
)

// TestHistoryTail follows every function's new records, and only those:
// a record of before the tail began is not sent.
func TestHistoryTail(t *testing.T) {
	h := openHistory(t, observe.Options{FlushInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	h.Observe(observe.Record{Function: "a", RequestID: "before", Status: 200, Time: time.Now().Add(-time.Second)})
	time.Sleep(60 * time.Millisecond)
	for _, tc := range []struct {
		function string
		want     []string
	}{
		{"", []string{"a-new", "b-new"}},
		{"b", []string{"b-new"}},
	} {
		tctx, tcancel := context.WithCancel(ctx)
		got := make(chan string, 10)
		done := make(chan error, 1)
		go func() {
			done <- h.Tail(tctx, tc.function, func(r observe.Record) error {
				got <- r.RequestID
				return nil
			})
		}()
		time.Sleep(100 * time.Millisecond)
		h.Observe(observe.Record{Function: "a", RequestID: "a-new", Status: 200, Time: time.Now()})
		h.Observe(observe.Record{Function: "b", RequestID: "b-new", Status: 500, Time: time.Now()})
		seen := map[string]bool{}
		for range tc.want {
			select {
			case id := <-got:
				seen[id] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("tail of %q: only %v arrived", tc.function, seen)
			}
		}
		for _, id := range tc.want {
			if !seen[id] {
				t.Errorf("tail of %q: %s did not arrive (got %v)", tc.function, id, seen)
			}
		}
		select {
		case id := <-got:
			t.Errorf("tail of %q: %s arrived too", tc.function, id)
		case <-time.After(150 * time.Millisecond):
		}
		tcancel()
		if err := <-done; err != nil {
			t.Errorf("tail ended with %v", err)
		}
	}
	if err := h.Tail(ctx, "a.b", func(observe.Record) error { return nil }); err == nil {
		t.Error("a subject wildcard in a function name is refused")
	}
}
