// Package bench measures pave end to end: one concurrent loopback client
// drives, in one run, a bare net/http handler returning the same bytes as
// examples/hello (the ceiling on this machine at this moment), then hello
// through the gateway of a daemon that instantiates every invocation afresh
// (the naive mode), then hello through a daemon on its default snapshot
// path, all with an API key on the pave routes. Ratios between targets of
// the same run are the figures to compare across runs, because absolute
// numbers on a shared machine drift.
//
// The same default daemon then serves hello behind two POST routes with a
// JSON body, one guarded by an API key only and one by a JWT, a JSON Schema
// and a rate limit, and the report gives the difference of their latencies:
// what the gateway's checks cost per request.
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
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/pave-dev/pave/internal/config"
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
	// Isolation and IsolationP99 are the mean and p99 cost of clean state
	// per invocation, as the daemon measured it (pave targets only).
	Isolation    time.Duration
	IsolationP99 time.Duration
}

// RPS is requests per second.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Run measures the three targets and writes a report to out.
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

	fresh, err := startPave(ctx, filepath.Join(dir, "fresh"), config.IsolationFresh, opts)
	if err != nil {
		return nil, err
	}
	defer fresh.stop(ctx)
	snap, err := startPave(ctx, filepath.Join(dir, "snapshot"), config.IsolationSnapshot, opts)
	if err != nil {
		return nil, err
	}
	defer snap.stop(ctx)

	get := func(url, key string) request { return request{method: http.MethodGet, url: url, key: key} }
	post := func(url, key string) request {
		return request{method: http.MethodPost, url: url, key: key, body: checkedBody, contentType: "application/json"}
	}
	// The checks are compared twice: with the run's clients, where their
	// cost shows as lost throughput and queueing, and with one client,
	// where a request's latency is its own cost alone.
	one := max(opts.Requests/4, 1)
	targets := []struct {
		name     string
		req      request
		pave     *pave
		requests int
		clients  int
	}{
		{"bare net/http", get("http://"+ln.Addr().String()+"/hello", ""), nil, opts.Requests, opts.Concurrency},
		// The naive mode is an order of magnitude slower; a tenth of the
		// requests measures it as well in a tenth of the time.
		{"pave, fresh instance per call", get(fresh.url, fresh.key), fresh, max(opts.Requests/10, 1), opts.Concurrency},
		{"pave, snapshot (default)", get(snap.url, snap.key), snap, opts.Requests, opts.Concurrency},
		{"POST JSON, API key only", post(snap.keyURL, snap.checksKey), snap, opts.Requests, opts.Concurrency},
		{"POST JSON, JWT + schema + rate limit", post(snap.checkedURL, snap.token), snap, opts.Requests, opts.Concurrency},
		{"POST JSON, API key only, 1 client", post(snap.keyURL, snap.checksKey), snap, one, 1},
		{"POST JSON, JWT + schema + rate limit, 1 client", post(snap.checkedURL, snap.token), snap, one, 1},
	}
	var results []Result
	for _, t := range targets {
		if _, err := drive(ctx, t.req, opts.Body, opts.Warmup, t.clients); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", t.name, err)
		}
		if t.pave != nil {
			t.pave.costs.reset()
		}
		r, err := drive(ctx, t.req, opts.Body, t.requests, t.clients)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		r.Name = t.name
		if t.pave != nil {
			r.Isolation, r.IsolationP99 = t.pave.costs.summary()
		}
		results = append(results, r)
	}
	report(out, opts, results)
	return results, nil
}

// pave is one daemon under test, with hello deployed and a key for it;
// on the default daemon also behind the checks' two routes, with a JWT
// for the checked one.
type pave struct {
	*node
	url, key                             string
	keyURL, checksKey, checkedURL, token string
	costs                                *costRecorder
}

func startPave(ctx context.Context, dir, isolation string, opts Options) (p *pave, err error) {
	costs := &costRecorder{}
	signer, issuer, err := newJWTSigner()
	if err != nil {
		return nil, err
	}
	n, err := startNode(ctx, dir, isolation, slog.New(costs), issuer)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.stop(ctx)
		}
	}()
	concurrency := max(opts.Concurrency*2, 32)
	key, err := n.deploy(ctx, "hello", "/hello", opts.Hello, concurrency)
	if err != nil {
		return nil, err
	}
	p = &pave{node: n, url: n.d.GatewayURL() + "/hello", key: key, costs: costs}
	if isolation != config.IsolationSnapshot {
		return p, nil
	}
	if p.checksKey, err = n.deployText(ctx, "checks", checksManifest("checks", concurrency), opts.Hello); err != nil {
		return nil, fmt.Errorf("deploy the checks' routes: %w", err)
	}
	if p.token, err = signer.token(); err != nil {
		return nil, err
	}
	p.keyURL, p.checkedURL = n.d.GatewayURL()+"/key/checks", n.d.GatewayURL()+"/checked/checks"
	return p, nil
}

// costRecorder is a slog.Handler that keeps the isolation cost of every
// invocation the daemon logs, and drops everything else.
type costRecorder struct {
	mu sync.Mutex
	us []float64
}

func (c *costRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (c *costRecorder) WithAttrs([]slog.Attr) slog.Handler           { return c }
func (c *costRecorder) WithGroup(string) slog.Handler                { return c }

func (c *costRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "invocation" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "isolation_us" {
			c.mu.Lock()
			c.us = append(c.us, a.Value.Float64())
			c.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (c *costRecorder) reset() {
	c.mu.Lock()
	c.us = c.us[:0]
	c.mu.Unlock()
}

// summary returns the mean and p99 isolation cost.
func (c *costRecorder) summary() (mean, p99 time.Duration) {
	c.mu.Lock()
	us := slices.Clone(c.us)
	c.mu.Unlock()
	if len(us) == 0 {
		return 0, 0
	}
	slices.Sort(us)
	var sum float64
	for _, v := range us {
		sum += v
	}
	toDur := func(v float64) time.Duration { return time.Duration(v * 1000) }
	return toDur(sum / float64(len(us))), toDur(us[min(len(us)-1, len(us)*99/100)])
}

// request is what one target is sent.
type request struct {
	method, url, key  string
	body, contentType string
}

// drive sends n requests from workers goroutines and measures each one. A
// response other than 200 with body want counts as an error.
func drive(ctx context.Context, rq request, want string, n, workers int) (Result, error) {
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
				var body io.Reader
				if rq.body != "" {
					body = strings.NewReader(rq.body)
				}
				req, _ := http.NewRequestWithContext(ctx, rq.method, rq.url, body)
				if rq.key != "" {
					req.Header.Set("Authorization", "Bearer "+rq.key)
				}
				if rq.contentType != "" {
					req.Header.Set("Content-Type", rq.contentType)
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
	fmt.Fprintf(out, "%d warm-up requests per target, %d concurrent keep-alive clients, loopback\n\n", opts.Warmup, opts.Concurrency)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\trequests/s\tp50\tp99\tp99.9\tisolation mean\tisolation p99\t")
	for _, r := range results {
		iso, isoP99 := "-", "-"
		if r.Isolation > 0 {
			iso, isoP99 = us(r.Isolation), us(r.IsolationP99)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Requests, r.RPS(), ms(r.P50), ms(r.P99), ms(r.P999), iso, isoP99)
	}
	tw.Flush()
	if len(results) >= 3 && results[0].RPS() > 0 && results[1].RPS() > 0 {
		bare, fresh, snap := results[0], results[1], results[2]
		fmt.Fprintf(out, "\nsnapshot / bare:  %.3f of the bare handler's requests/s\n", snap.RPS()/bare.RPS())
		fmt.Fprintf(out, "snapshot / fresh: %.1fx the fresh mode's requests/s\n", snap.RPS()/fresh.RPS())
	}
	if len(results) == 7 {
		key, checked := results[3], results[4]
		fmt.Fprintf(out, "checks (JWT + schema + rate limit) over the API key alone, %d clients: p50 %s, p99 %s; requests/s %.3f of the key-only route's\n",
			opts.Concurrency, signedUS(checked.P50-key.P50), signedUS(checked.P99-key.P99), checked.RPS()/key.RPS())
		key, checked = results[5], results[6]
		fmt.Fprintf(out, "checks (JWT + schema + rate limit) over the API key alone, 1 client:  p50 %s, p99 %s\n",
			signedUS(checked.P50-key.P50), signedUS(checked.P99-key.P99))
	}
}

func signedUS(d time.Duration) string {
	return fmt.Sprintf("%+.0fµs", float64(d.Nanoseconds())/1000)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1000) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
