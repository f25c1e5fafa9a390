package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

func queue(t *testing.T, n *store.NATS) *store.Stream {
	t.Helper()
	s, err := n.Stream(context.Background(), store.StreamConfig{Name: "q", Subjects: []string{"q.>"}, WorkQueue: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// consume runs Consume in the background until the test ends or stop is
// called.
func consume(t *testing.T, s *store.Stream, cfg store.ConsumerConfig, h store.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Consume(ctx, cfg, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consume: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestConsumeRetriesUntilDone(t *testing.T) {
	n := openCleanup(t)
	s := queue(t, n)
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Publish(ctx, "q.a", "", nil, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	attempts := map[string][]int{}
	all := make(chan struct{})
	consume(t, s, store.ConsumerConfig{Name: "w", Workers: 3}, func(_ context.Context, d store.Delivery) store.Disposition {
		mu.Lock()
		defer mu.Unlock()
		attempts[string(d.Data)] = append(attempts[string(d.Data)], d.Attempt)
		// Every message fails twice, then succeeds.
		if d.Attempt < 3 {
			return store.RetryAfter(10 * time.Millisecond)
		}
		if len(attempts) == 5 && done(attempts) {
			close(all)
		}
		return store.Done()
	})
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatalf("not all messages were handled: %v", attempts)
	}
	for m, a := range attempts {
		if fmt.Sprint(a) != "[1 2 3]" {
			t.Errorf("%s: attempts %v, want [1 2 3]", m, a)
		}
	}
	// A work queue forgets acknowledged messages.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := s.Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left after every one was acknowledged", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func done(attempts map[string][]int) bool {
	for _, a := range attempts {
		if len(a) < 3 {
			return false
		}
	}
	return true
}

// TestUnacknowledgedComesBack stops a consumer in the middle of a handler
// and expects the message again from a new one.
func TestUnacknowledgedComesBack(t *testing.T) {
	n := openCleanup(t)
	s := queue(t, n)
	ctx := context.Background()
	if _, err := s.Publish(ctx, "q.a", "", nil, []byte("job")); err != nil {
		t.Fatal(err)
	}
	cfg := store.ConsumerConfig{Name: "w", AckWait: 300 * time.Millisecond}
	started := make(chan struct{})
	stop := consume(t, s, cfg, func(ctx context.Context, d store.Delivery) store.Disposition {
		close(started)
		<-ctx.Done()
		return store.RetryAfter(0)
	})
	<-started
	stop()

	got := make(chan store.Delivery, 1)
	consume(t, s, cfg, func(_ context.Context, d store.Delivery) store.Disposition {
		got <- d
		return store.Done()
	})
	select {
	case d := <-got:
		if string(d.Data) != "job" || d.Attempt != 2 {
			t.Errorf("delivered %q as attempt %d, want job as attempt 2", d.Data, d.Attempt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the unacknowledged message was not delivered again")
	}
}

// TestInProgressKeepsLongHandlers runs a handler for several AckWaits and
// expects no second delivery meanwhile. AckWait is a second, so that the
// in-progress signal, sent every third of it, may come late on a busy
// machine without the message being redelivered.
func TestInProgressKeepsLongHandlers(t *testing.T) {
	n := openCleanup(t)
	s := queue(t, n)
	ctx := context.Background()
	if _, err := s.Publish(ctx, "q.a", "", nil, []byte("slow")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var deliveries int
	finished := make(chan struct{})
	consume(t, s, store.ConsumerConfig{Name: "w", AckWait: time.Second, Workers: 2}, func(context.Context, store.Delivery) store.Disposition {
		mu.Lock()
		deliveries++
		first := deliveries == 1
		mu.Unlock()
		if first {
			time.Sleep(4 * time.Second)
			close(finished)
		}
		return store.Done()
	})
	<-finished
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if deliveries != 1 {
		t.Errorf("a handler running for 4 AckWaits saw %d deliveries, want 1", deliveries)
	}
}

func TestConsumerStartTimeAndDelete(t *testing.T) {
	n := openCleanup(t)
	s := readStream(t, n, "ev")
	ctx := context.Background()
	if _, err := s.Publish(ctx, "ev.a", "", nil, []byte("before")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	// A message stored after the start but before the consumer exists is
	// delivered: a trigger deployed at the start sees it.
	start := time.Now()
	if _, err := s.Publish(ctx, "ev.a", "", nil, []byte("between")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	stop := consume(t, s, store.ConsumerConfig{Name: "sub", Subjects: []string{"ev.a"}, StartTime: start}, func(_ context.Context, d store.Delivery) store.Disposition {
		got <- string(d.Data)
		return store.Done()
	})
	// The consumer exists once Consume has created it.
	waitFor(t, func() bool { names, _ := s.Consumers(ctx); return len(names) == 1 })
	for _, m := range []string{"after", "ignored"} {
		subject := "ev.a"
		if m == "ignored" {
			subject = "ev.b"
		}
		if _, err := s.Publish(ctx, subject, "", nil, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"between", "after"} {
		select {
		case m := <-got:
			if m != want {
				t.Errorf("delivery %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not delivered", want)
		}
	}
	time.Sleep(50 * time.Millisecond)
	stop()
	if len(got) != 0 {
		t.Errorf("unexpected deliveries: %q", <-got)
	}
	if err := s.DeleteConsumer(ctx, "sub"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsumer(ctx, "sub"); err != nil {
		t.Errorf("deleting a missing consumer: %v", err)
	}
	if names, err := s.Consumers(ctx); err != nil || len(names) != 0 {
		t.Errorf("consumers after delete: %v, %v", names, err)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDelayedRetriesDoNotStall delays many messages for a long time and
// expects the next one to be delivered all the same.
func TestDelayedRetriesDoNotStall(t *testing.T) {
	n := openCleanup(t)
	s := queue(t, n)
	ctx := context.Background()
	const delayed = 40
	for i := range delayed + 1 {
		if _, err := s.Publish(ctx, "q.a", "", nil, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	last := make(chan struct{})
	consume(t, s, store.ConsumerConfig{Name: "w", Workers: 1}, func(_ context.Context, d store.Delivery) store.Disposition {
		if string(d.Data) == fmt.Sprintf("m%d", delayed) {
			close(last)
			return store.Done()
		}
		return store.RetryAfter(time.Hour)
	})
	select {
	case <-last:
	case <-time.After(20 * time.Second):
		t.Fatalf("the message after %d delayed ones was not delivered", delayed)
	}
}
