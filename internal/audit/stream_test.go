package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/store"
)

func openStore(t *testing.T) *store.NATS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// Two Auditors (two daemons) appending to one stream at once keep one
// valid chain, sealed by both, with one head.
func TestAuditorsShareAStream(t *testing.T) {
	ctx := context.Background()
	n := openStore(t)
	key, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := n.KV(ctx, "audit_head")
	if err != nil {
		t.Fatal(err)
	}
	head := audit.KVHead{KV: bucket, Key: "head"}
	const auditors, writers, events = 2, 4, 15
	var all []*audit.Auditor
	var conflicts atomic.Int64
	var stream *store.Stream
	for range auditors {
		s, err := n.Stream(ctx, audit.StreamConfig(audit.StreamOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		stream = s
		a, err := audit.New(&countingLog{Log: audit.NewStreamLog(s), conflicts: &conflicts}, key, audit.Options{SealEvery: 10, Head: head})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	var wg sync.WaitGroup
	for i, a := range all {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range events {
					ev := audit.NewEvent(audit.Ref("key", fmt.Sprintf("a%d-w%d", i, w)), audit.ActionDeploy, audit.Ref("function", "f")).With("e", e)
					if err := a.Record(ctx, ev); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, a := range all {
		if err := a.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d appends lost a race and were retried", conflicts.Load())
	log := audit.NewStreamLog(stream)
	rep, err := audit.Verify(ctx, log, key, audit.VerifyOptions{Head: head})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != auditors*writers*events || rep.Seals < rep.Events/10 || rep.Unsealed != 0 || rep.Head != rep.Last {
		t.Fatalf("shared stream: %+v %v", rep, rep.Problem)
	}
	// The head never moves back, whoever writes last.
	before, err := head.Load(ctx)
	if err != nil || before == nil {
		t.Fatalf("head: %q, %v", before, err)
	}
	if err := head.Store(ctx, 1, []byte("an older head")); err != nil {
		t.Fatal(err)
	}
	if after, err := head.Load(ctx); err != nil || string(after) != string(before) {
		t.Fatalf("an older head replaced the newer one: %q, %v", after, err)
	}
	seen := map[string]int{}
	err = audit.Events(ctx, log, time.Time{}, func(e audit.Event) error {
		seen[e.Actor]++
		return nil
	})
	if err != nil || len(seen) != auditors*writers {
		t.Fatalf("events by actor %v, %v", seen, err)
	}
	for actor, n := range seen {
		if n != events {
			t.Errorf("%s: %d events, want %d", actor, n, events)
		}
	}

	// The stream refuses to delete a record, in the middle or the newest:
	// removing one takes deleting the whole stream, which the head shows
	// (Verify's tests show what a log with records removed looks like).
	for _, seq := range []uint64{5, rep.End} {
		if err := stream.DeleteMessage(ctx, seq); err == nil {
			t.Fatalf("record %d of the audit stream was deleted", seq)
		}
	}
	if rep, err := audit.Verify(ctx, log, key, audit.VerifyOptions{Head: head}); err != nil || !rep.OK() {
		t.Fatalf("after the refused deletes: %+v, %v", rep.Problem, err)
	}
}

func TestOpenStream(t *testing.T) {
	ctx := context.Background()
	n := openStore(t)
	log, err := audit.OpenStream(ctx, n, audit.StreamOptions{MaxAge: 24 * time.Hour, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, end, err := log.Last(ctx); err != nil || end != 0 {
		t.Fatalf("empty: %d, %v", end, err)
	}
	if seq, err := log.Append(ctx, 0, []byte("x")); err != nil || seq != 1 {
		t.Fatalf("append = %d, %v", seq, err)
	}
	if _, err := log.Append(ctx, 0, []byte("y")); err == nil {
		t.Fatal("a stale append succeeded")
	} else if !isConflict(err) {
		t.Fatalf("a stale append: %v, want ErrConflict", err)
	}
	last, end, err := log.Last(ctx)
	if err != nil || end != 1 || last.Seq != 1 || string(last.Data) != "x" {
		t.Fatalf("last = %+v, %d, %v", last, end, err)
	}
}

func isConflict(err error) bool { return errors.Is(err, audit.ErrConflict) }

// countingLog counts the appends that lost a race.
type countingLog struct {
	audit.Log
	conflicts *atomic.Int64
}

func (l *countingLog) Append(ctx context.Context, after uint64, data []byte) (uint64, error) {
	seq, err := l.Log.Append(ctx, after, data)
	if isConflict(err) {
		l.conflicts.Add(1)
	}
	return seq, err
}
