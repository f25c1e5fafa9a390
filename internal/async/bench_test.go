package async

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// The benchmarks of the queue submit b.N calls from benchClients clients
// at once to a queue on an embedded store (which syncs every write to
// disk) and report, besides the time per call, the accepted calls per
// second, the submit latency, the store writes per call (stream
// publishes and call record writes, read from the sequence numbers of
// the queue and of the bucket) and the processor time per call, pave's
// and the embedded server's together. Run them with
//
//	go test -run '^$' -bench 'Submit|Call' -benchtime 2000x ./internal/async/
//
// Writes and processor time per call are the figures that hold on a
// busy machine.
const benchClients = 8

// benchQueue is a queue on a fresh embedded store, with a bucket and a
// stream whose sequence numbers count writes.
type benchQueue struct {
	q     *Queue
	jobs  *store.Stream
	calls *store.KV
}

func newBenchQueue(b testing.TB) *benchQueue {
	b.Helper()
	ctx := context.Background()
	n, err := store.Open(ctx, store.Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	jobs, err := n.Stream(ctx, JobsConfig())
	if err != nil {
		b.Fatal(err)
	}
	dead, err := n.Stream(ctx, DeadConfig())
	if err != nil {
		b.Fatal(err)
	}
	calls, err := n.ExpiringKV(ctx, CallsBucket, CallRetention)
	if err != nil {
		b.Fatal(err)
	}
	q := New(Deps{
		Jobs: jobs, Dead: dead, Calls: calls, IDs: NewIDs([]byte("a bench key of thirty-two bytes..")),
		Policies: policies{"ok": {Retries: 2}},
	}, Config{})
	return &benchQueue{q: q, jobs: jobs, calls: calls}
}

// writes is how many messages the queue and the bucket of call records
// hold so far, their deletions included: a probe written to the bucket
// takes the next revision.
func (bq *benchQueue) writes(b *testing.B) (jobs, records uint64) {
	b.Helper()
	ctx := context.Background()
	jobs, err := bq.jobs.LastSequence(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rev, err := bq.calls.Put(ctx, "bench_probe", []byte("x"))
	if err != nil {
		b.Fatal(err)
	}
	return jobs, rev
}

// submitAll submits b.N calls from benchClients clients and returns their
// ids and submit latencies.
func submitAll(b *testing.B, q *Queue) (ids []string, lat []time.Duration) {
	b.Helper()
	ids, lat = make([]string, b.N), make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				c, _, err := q.Submit(context.Background(), submission("ok", fmt.Sprintf(`{"n":%d}`, i)))
				lat[i] = time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	return ids, lat
}

func report(b *testing.B, elapsed, cpu time.Duration, jobs, records uint64, lat []time.Duration) {
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(jobs+records)/n, "writes/call")
	b.ReportMetric(float64(records)/n, "record-writes/call")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/call")
	if lat != nil {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "submit-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "submit-p99-ms")
	}
}

// BenchmarkSubmit is the submit path alone: what a 202 waits for.
func BenchmarkSubmit(b *testing.B) {
	bq := newBenchQueue(b)
	j0, r0 := bq.writes(b)
	cpu0 := cpuTime()
	b.ResetTimer()
	t0 := time.Now()
	_, lat := submitAll(b, bq.q)
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	j1, r1 := bq.writes(b)
	report(b, elapsed, cpu, j1-j0, r1-r0-1, lat)
}

// BenchmarkCall is a call from submit to its final record, run by the
// worker with a function that answers at once.
func BenchmarkCall(b *testing.B) {
	bq := newBenchQueue(b)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bq.q.Run(ctx, &fakeRunner{script: map[string][]Outcome{"ok": {ok200}}, runs: map[string]int{}})
	}()
	defer func() { stop(); <-done }()
	j0, r0 := bq.writes(b)
	cpu0 := cpuTime()
	b.ResetTimer()
	t0 := time.Now()
	ids, lat := submitAll(b, bq.q)
	for _, id := range ids {
		for {
			c, err := bq.q.Get(context.Background(), id)
			if err == nil && c.State.Final() {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	j1, r1 := bq.writes(b)
	report(b, elapsed, cpu, j1-j0, r1-r0-1, lat)
}
