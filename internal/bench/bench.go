// Package bench measures pave end to end: a concurrent loopback client
// drives a function through the real gateway with an API key, and, in the
// same run, the same client drives a bare net/http handler that returns the
// same bytes. The bare handler is the ceiling on this machine at this moment;
// the ratio between the two is the figure to compare across runs, because
// absolute numbers on a shared machine drift.
//
// It reports; it asserts nothing. Tests never depend on its timings.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
)

// Options configure a run.
type Options struct {
	// Requests per target, after Warmup requests that are not measured.
	Requests int
	Warmup   int
	// Concurrency is the number of client workers, each with its own
	// keep-alive connection.
	Concurrency int
	// Hello is the examples/hello module.
	Hello []byte
	// Body is what hello answers, which the bare handler returns too.
	Body string
}

// Result is one target's figures.
type Result struct {
	Name     string
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50      time.Duration
	P99      time.Duration
	P999     time.Duration
}

// RPS is requests per second.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Run measures the bare handler and pave's gateway and writes a report to
// out.
func Run(ctx context.Context, opts Options, out io.Writer) ([]Result, error) {
	if opts.Requests <= 0 || opts.Concurrency <= 0 {
		return nil, fmt.Errorf("requests and concurrency must be positive")
	}
	dir, err := os.MkdirTemp("", "pave-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// The bare baseline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, opts.Body)
	})}
	go bare.Serve(ln)
	defer bare.Close()

	// pave, in-process, with hello deployed and a key for it.
	cfg := config.Default()
	cfg.DataDir, cfg.GatewayAddr, cfg.AdminAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
	d, err := daemon.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	defer d.Shutdown(context.WithoutCancel(ctx))
	token, err := os.ReadFile(cfg.AdminTokenFile())
	if err != nil {
		return nil, err
	}
	admin := client.New(d.AdminURL(), strings.TrimSpace(string(token)))
	digest, err := admin.PutBlob(ctx, opts.Hello)
	if err != nil {
		return nil, err
	}
	manifest := fmt.Sprintf("name: hello\nowner: bench\nroutes:\n  - method: GET\n    path: /hello\nlimits:\n  concurrency: %d\n", max(opts.Concurrency*2, 32))
	if _, err := admin.Deploy(ctx, client.DeployRequest{Manifest: manifest, Digest: digest}); err != nil {
		return nil, err
	}
	key, err := admin.CreateKey(ctx, client.CreateKeyRequest{Name: "bench", Functions: []string{"hello"}})
	if err != nil {
		return nil, err
	}

	targets := []struct {
		name, url, key string
	}{
		{"bare net/http", "http://" + ln.Addr().String() + "/hello", ""},
		{"pave gateway (api key)", d.GatewayURL() + "/hello", key.Secret},
	}
	var results []Result
	for _, t := range targets {
		if _, err := drive(ctx, t.url, t.key, opts.Body, opts.Warmup, opts.Concurrency); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", t.name, err)
		}
		r, err := drive(ctx, t.url, t.key, opts.Body, opts.Requests, opts.Concurrency)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		r.Name = t.name
		results = append(results, r)
	}
	report(out, opts, results)
	return results, nil
}

// drive sends n GET requests to url from workers goroutines and measures
// each one. A response other than 200 with body want counts as an error.
func drive(ctx context.Context, url, key, want string, n, workers int) (Result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					buf, err = readAll(resp.Body, buf[:0])
					resp.Body.Close()
					if err == nil && (resp.StatusCode != http.StatusOK || string(buf) != want) {
						err = fmt.Errorf("status %d body %q", resp.StatusCode, buf)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if e := errs.Load(); e > int64(n)/100 {
		return Result{}, fmt.Errorf("%d of %d requests failed, first: %v", e, n, firstErr.Load())
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	return Result{Requests: n, Errors: int(errs.Load()), Elapsed: elapsed, P50: pct(0.50), P99: pct(0.99), P999: pct(0.999)}, nil
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func report(out io.Writer, opts Options, results []Result) {
	fmt.Fprintf(out, "%d requests per target after %d warm-up, %d concurrent keep-alive clients, loopback\n\n", opts.Requests, opts.Warmup, opts.Concurrency)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests/s\tp50\tp99\tp99.9\terrors\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t\n", r.Name, r.RPS(), ms(r.P50), ms(r.P99), ms(r.P999), r.Errors)
	}
	tw.Flush()
	if len(results) >= 2 && results[0].RPS() > 0 {
		base, last := results[0], results[len(results)-1]
		fmt.Fprintf(out, "\n%s reaches %.1f%% of the bare handler's throughput (ratio %.3f); p50 %.1fx the bare p50\n",
			last.Name, 100*last.RPS()/base.RPS(), last.RPS()/base.RPS(), float64(last.P50)/float64(max(base.P50, 1)))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
