package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pave-dev/pave/internal/store"
)

func readStream(t *testing.T, n *store.NATS, name string) *store.Stream {
	t.Helper()
	s, err := n.Stream(context.Background(), store.StreamConfig{Name: name, Subjects: []string{name + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readAll returns the sequence numbers and data ReadFrom delivers from start.
func readAll(t *testing.T, s *store.Stream, start uint64) ([]uint64, []string) {
	t.Helper()
	var seqs []uint64
	var data []string
	err := s.ReadFrom(context.Background(), start, func(m store.Message) error {
		seqs = append(seqs, m.Sequence)
		data = append(data, string(m.Data))
		return nil
	})
	if err != nil {
		t.Fatalf("ReadFrom(%d): %v", start, err)
	}
	return seqs, data
}

func TestPublishAfter(t *testing.T) {
	ctx := context.Background()
	s := readStream(t, openCleanup(t), "after")

	steps := []struct {
		name    string
		after   uint64
		wantSeq uint64
		wantErr error
	}{
		{"after a message that does not exist yet", 1, 0, store.ErrWrongLastSequence},
		{"first message after 0", 0, 1, nil},
		{"0 again once the stream holds one", 0, 0, store.ErrWrongLastSequence},
		{"after the last", 1, 2, nil},
		{"after a stale sequence", 1, 0, store.ErrWrongLastSequence},
		{"after one in the future", 9, 0, store.ErrWrongLastSequence},
		{"after the last again", 2, 3, nil},
	}
	for _, st := range steps {
		seq, err := s.PublishAfter(ctx, "after.x", st.after, []byte(st.name))
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: got %d, %v; want %v", st.name, seq, err, st.wantErr)
			}
			continue
		}
		if err != nil || seq != st.wantSeq {
			t.Fatalf("%s: got %d, %v; want %d", st.name, seq, err, st.wantSeq)
		}
	}
	if c, err := s.Count(ctx); err != nil || c != 3 {
		t.Fatalf("count = %d, %v; refused publishes must store nothing", c, err)
	}

	// Another error is not a sequence conflict.
	if _, err := s.PublishAfter(ctx, "elsewhere", 3, []byte("x")); err == nil || errors.Is(err, store.ErrWrongLastSequence) {
		t.Errorf("publishing outside the stream: %v", err)
	}

	// The last sequence counts deleted messages: a deleted tail does not
	// make its sequence numbers available again.
	if err := s.DeleteMessage(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishAfter(ctx, "after.x", 2, []byte("x")); !errors.Is(err, store.ErrWrongLastSequence) {
		t.Errorf("publishing after a deleted message's predecessor: %v", err)
	}
	if seq, err := s.PublishAfter(ctx, "after.x", 3, []byte("x")); err != nil || seq != 4 {
		t.Errorf("publishing after a deleted last message = %d, %v; want 4", seq, err)
	}
}

// Writers racing with PublishAfter each win a distinct sequence number;
// the losers learn that they lost.
func TestPublishAfterRace(t *testing.T) {
	ctx := context.Background()
	s := readStream(t, openCleanup(t), "race")
	const writers = 8
	var wg sync.WaitGroup
	won := make(chan uint64, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := s.PublishAfter(ctx, "race.x", 0, fmt.Appendf(nil, "w%d", i))
			switch {
			case err == nil:
				won <- seq
			case !errors.Is(err, store.ErrWrongLastSequence):
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(won)
	var seqs []uint64
	for seq := range won {
		seqs = append(seqs, seq)
	}
	if !slices.Equal(seqs, []uint64{1}) {
		t.Fatalf("writers expecting an empty stream stored %v, want exactly one at 1", seqs)
	}
}

func TestReadFrom(t *testing.T) {
	ctx := context.Background()
	s := readStream(t, openCleanup(t), "read")

	// An empty stream delivers nothing.
	if seqs, _ := readAll(t, s, 0); len(seqs) != 0 {
		t.Fatalf("empty stream delivered %v", seqs)
	}
	const total = 150 // more than one batch
	for i := 1; i <= total; i++ {
		subject := "read.a"
		if i%2 == 0 {
			subject = "read.b" // every subject of the stream is read
		}
		if _, err := s.Publish(ctx, subject, "", nil, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	deleted := []uint64{1, 7, 64, 65, 100, total}
	for _, seq := range deleted {
		if err := s.DeleteMessage(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	want := func(start uint64) []uint64 {
		var seqs []uint64
		for i := max(start, 1); i <= total; i++ {
			if !slices.Contains(deleted, i) {
				seqs = append(seqs, i)
			}
		}
		return seqs
	}
	tests := []struct {
		name  string
		start uint64
	}{
		{"from 0", 0},
		{"from 1, deleted", 1},
		{"from the middle", 50},
		{"from a deleted run", 64},
		{"from the last stored", total - 1},
		{"from the deleted last", total},
		{"past the end", total + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seqs, data := readAll(t, s, tt.start)
			if w := want(tt.start); !slices.Equal(seqs, w) {
				t.Fatalf("ReadFrom(%d) delivered %v, want %v", tt.start, seqs, w)
			}
			for i, seq := range seqs {
				if data[i] != fmt.Sprintf("m%d", seq) {
					t.Fatalf("message %d holds %q", seq, data[i])
				}
			}
		})
	}

	// An error from fn ends the read and is returned.
	stop := errors.New("stop")
	calls := 0
	err := s.ReadFrom(ctx, 0, func(store.Message) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("ReadFrom with a failing fn = %v after %d calls", err, calls)
	}

	// A read stops at the end it saw when it started, even while messages
	// keep arriving.
	var seen []uint64
	err = s.ReadFrom(ctx, total-5, func(m store.Message) error {
		seen = append(seen, m.Sequence)
		_, err := s.Publish(ctx, "read.a", "", nil, []byte("later"))
		return err
	})
	if err != nil || !slices.Equal(seen, want(total-5)) {
		t.Errorf("ReadFrom while publishing delivered %v, %v; want %v", seen, err, want(total-5))
	}

	// A cancelled context ends it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ReadFrom(cctx, 0, func(store.Message) error { return nil }); err == nil {
		t.Error("ReadFrom with a cancelled context succeeded")
	}
}

func TestLastMessageAndSequence(t *testing.T) {
	ctx := context.Background()
	// Two subject filters: the newest message may be on either.
	s, err := openCleanup(t).Stream(ctx, store.StreamConfig{Name: "last", Subjects: []string{"last.a.>", "last.b"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastMessage(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastMessage on an empty stream: %v", err)
	}
	if seq, err := s.LastSequence(ctx); err != nil || seq != 0 {
		t.Fatalf("LastSequence on an empty stream = %d, %v", seq, err)
	}
	for i, subject := range []string{"last.a.x", "last.b", "last.a.y"} {
		if _, err := s.Publish(ctx, subject, "", nil, fmt.Appendf(nil, "m%d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantMsg, wantLast uint64) {
		t.Helper()
		m, err := s.LastMessage(ctx)
		if err != nil || m.Sequence != wantMsg || string(m.Data) != fmt.Sprintf("m%d", wantMsg) {
			t.Fatalf("LastMessage = %d %q, %v; want %d", m.Sequence, m.Data, err, wantMsg)
		}
		if seq, err := s.LastSequence(ctx); err != nil || seq != wantLast {
			t.Fatalf("LastSequence = %d, %v; want %d", seq, err, wantLast)
		}
	}
	check(3, 3)
	if err := s.DeleteMessage(ctx, 3); err != nil {
		t.Fatal(err)
	}
	check(2, 3) // a deleted tail shows as a gap between the two
	if err := s.DeleteMessage(ctx, 2); err != nil {
		t.Fatal(err)
	}
	check(1, 3)
	if err := s.DeleteMessage(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastMessage(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastMessage once all are deleted: %v", err)
	}
	if seq, err := s.LastSequence(ctx); err != nil || seq != 3 {
		t.Fatalf("LastSequence once all are deleted = %d, %v; want 3", seq, err)
	}
	if seqs, _ := readAll(t, s, 0); len(seqs) != 0 {
		t.Fatalf("ReadFrom once all are deleted: %v", seqs)
	}
}
