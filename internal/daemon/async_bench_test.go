package daemon_test

import (
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkAsyncSubmit measures asynchronous calls through the daemon's
// gateway over HTTP: 8 clients post b.N calls to /async/hello, and the
// benchmark reports the accepted calls per second, the latency of the 202
// (p50, p99), and the process's processor time per call, the daemon's,
// its embedded NATS server's and the clients' together, the worker
// running the calls meanwhile included. The store writes each call makes
// are counted by BenchmarkSubmit and BenchmarkCall in internal/async.
//
//	go test -run='^$' -bench='AsyncSubmit' -benchtime=2000x ./internal/daemon/
func BenchmarkAsyncSubmit(b *testing.B) {
	n := startLogged(b, func(*config.Config) {}, slog.NewJSONHandler(io.Discard, nil))
	n.deploy(`name: hello
owner: bench
routes:
  - method: GET
    path: /hello
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: 64
async:
  retries: 0
`, testguests.Example(b, "hello"))
	key := n.key("hello", "hello")
	const clients = 8
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := n.d.GatewayURL() + "/async/hello"
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	b.ResetTimer()
	t0 := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				s := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(s)
				if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"queued"`) {
					b.Errorf("GET /async/hello = %d %s", resp.StatusCode, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := processCPU() - cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "submit-p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "submit-p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/call")
}
