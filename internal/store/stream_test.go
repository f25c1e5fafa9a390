package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

func TestStreamPublishAndLast(t *testing.T) {
	dir := t.TempDir()
	n := open(t, dir)
	ctx := context.Background()
	cfg := store.StreamConfig{Name: "test_events", Subjects: []string{"test.>"}, MaxMsgSize: 1024, Duplicates: time.Minute}
	s, err := n.Stream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := s.Publish(ctx, "test.a", "id-1", map[string][]string{"ce-id": {"id-1"}}, []byte("one"))
	if err != nil || seq != 1 {
		t.Fatalf("publish = %d, %v", seq, err)
	}
	again, err := s.Publish(ctx, "test.a", "id-1", nil, []byte("one again"))
	if !errors.Is(err, store.ErrDuplicate) || again != seq {
		t.Errorf("republishing an id = %d, %v; want %d, ErrDuplicate", again, err, seq)
	}
	if _, err := s.Publish(ctx, "test.b", "", nil, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, "test.a", "", nil, make([]byte, 2048)); err == nil {
		t.Error("a message over MaxMsgSize was stored")
	}
	if _, err := s.Publish(ctx, "elsewhere", "", nil, []byte("x")); err == nil {
		t.Error("a subject outside the stream was acknowledged")
	}
	m, err := s.Last(ctx, "test.a")
	if err != nil || string(m.Data) != "one" || m.Header["ce-id"][0] != "id-1" || m.Sequence != 1 {
		t.Errorf("last on test.a = %+v, %v", m, err)
	}
	if _, err := s.Last(ctx, "test.none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("last on an empty subject: %v", err)
	}
	if c, err := s.Count(ctx); err != nil || c != 2 {
		t.Errorf("count = %d, %v; want 2", c, err)
	}

	// Acknowledged messages survive a restart.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = open(t, dir)
	defer n.Close()
	s, err = n.Stream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Count(ctx); err != nil || c != 2 {
		t.Errorf("after a restart: count = %d, %v; want 2", c, err)
	}
}

// The largest values pave stores, 1 MiB key-value values, fit the embedded
// server's payload limit.
func TestLargestValuesFit(t *testing.T) {
	n := openCleanup(t)
	b := kv(t, n, "big")
	if _, err := b.Put(context.Background(), "k", make([]byte, 1<<20)); err != nil {
		t.Fatalf("a 1 MiB value: %v", err)
	}
}

// An append-only stream refuses to lose a message to a delete or a purge,
// also when an existing stream is made append-only, and can never be made
// deletable again.
func TestAppendOnlyStream(t *testing.T) {
	ctx := context.Background()
	n := open(t, t.TempDir())
	cfg := store.StreamConfig{Name: "ledger", Subjects: []string{"ledger"}}
	s, err := n.Stream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Publish(ctx, "ledger", "", nil, []byte("entry")); err != nil {
			t.Fatal(err)
		}
	}
	cfg.AppendOnly = true
	if s, err = n.Stream(ctx, cfg); err != nil {
		t.Fatalf("making an existing stream append-only: %v", err)
	}
	if err := s.DeleteMessage(ctx, 2); err == nil {
		t.Fatal("a message of an append-only stream was deleted")
	}
	if err := s.Purge(ctx); err == nil {
		t.Fatal("an append-only stream was purged")
	}
	if count, err := s.Count(ctx); err != nil || count != 3 {
		t.Fatalf("count = %d, %v; want all 3 messages kept", count, err)
	}
	cfg.AppendOnly = false
	if _, err := n.Stream(ctx, cfg); err == nil {
		t.Fatal("an append-only stream was made deletable again")
	}
}
