// Package bench measures pave end to end: one concurrent loopback client
// drives, in one run, a bare net/http handler returning the same bytes as
// examples/hello (the ceiling on this machine at this moment), then hello
// through the gateway of a daemon that instantiates every invocation afresh
// (the naive mode), then hello through a daemon on its default snapshot
// path, all with an API key on the pave routes; and the bare handler again,
// sending in every call the grants function's request (below) to its
// upstream, which is what that one exchange costs a server that does
// nothing else. Ratios between targets of the same run are the figures to
// compare across runs, because absolute numbers on a shared machine drift;
// each target is measured in rounds between rounds of the bare handler, so
// that its ratios compare it with the bare handler measured in the same
// minutes.
//
// The same default daemon then serves a function that uses a secret,
// outbound HTTP to a loopback upstream and a bucket in every call, and
// hello deployed with those grants unused; and hello behind two POST
// routes with a JSON body, one guarded by an API key only and one by a
// JWT, a JSON Schema and a rate limit, whose difference of latencies is
// what the gateway's checks cost per request. The bare handler, hello and
// the checks are measured with one client too, where a request's latency
// is its own cost alone.
//
// It reports; it asserts nothing. Tests never depend on its timings.
// Record and Compare keep a run's ratios in a file and warn when a later
// run's fall well below them.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
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
	// A target stops early once it has run for targetLimit.
	Requests int
	Warmup   int
	// Concurrency is the number of client workers, each with its own
	// keep-alive connection.
	Concurrency int
	// Hello is the examples/hello module.
	Hello []byte
	// Body is what hello answers, which the bare handler returns too.
	Body string
	// Grants is the module of testdata/grants, which uses a secret,
	// outbound HTTP and a bucket in every call.
	Grants []byte
	// HelloJS is the examples/hello-ts module: hello in TypeScript, on the
	// JavaScript engine. It answers as hello does.
	HelloJS []byte
	// Only, when not empty, names the targets to measure by ID;
	// the others are skipped.
	Only []string
	// ProfileTarget, when not empty, names the one target whose measured
	// requests are written to Profile as a CPU profile. The profile holds
	// the client's work as well as the daemon's: both run in this process.
	ProfileTarget string
	Profile       io.Writer
}

// targetLimit bounds the measured requests of one target, and its
// warm-up: a target on the fresh path would otherwise take minutes.
const targetLimit = 10 * time.Second

// Result is one target's figures.
type Result struct {
	// ID names the target in Options.Only, in recorded figures and in
	// the ratios.
	ID       string
	Name     string
	Clients  int
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
	// CPU is the processor time the whole process (client, daemons,
	// embedded NATS servers and the grants function's upstream) used per
	// measured request. It depends much less on what else the machine
	// runs than requests/s do.
	CPU time.Duration
	// BareRPS is the requests/s of the bare handler (with as many
	// clients) in the rounds measured between the target's own, when they
	// were; 0 otherwise.
	BareRPS float64
	// OverBare and OverHello are the target's requests/s over those of
	// the bare handler and of hello on the snapshot path with as many
	// clients, when both were measured in the run; 0 otherwise. Over
	// bare is over BareRPS where it was measured, and over hello is the
	// target's OverBare over hello's, so that both ratios compare targets
	// with the bare handler measured in the same minutes.
	OverBare, OverHello float64

	// lat are the measured requests' latencies, sorted, for merge.
	lat []time.Duration
}

// RPS is requests per second.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// The targets' IDs. A target ending in "-1" is the one-client variant of
// the target without the suffix.
const (
	idBare     = "bare"
	idFetch    = "bare-fetch"
	idFresh    = "fresh"
	idHello    = "hello"
	idUsed     = "grants-used"
	idWrite    = "grants-write"
	idUnused   = "grants-unused"
	idHelloJS  = "hello-js"
	idKey      = "key"
	idChecked  = "checked"
	idBare1    = "bare-1"
	idHello1   = "hello-1"
	idKey1     = "key-1"
	idChecked1 = "checked-1"
)

// targetIDs are the targets in the order a run measures them.
var targetIDs = []string{idBare, idFetch, idFresh, idHello, idUsed, idWrite, idUnused, idHelloJS, idKey, idChecked, idBare1, idHello1, idKey1, idChecked1}

// CheckSelection checks the targets named by Options.Only and
// Options.ProfileTarget: each must be a target, and the profiled one must
// be measured.
func CheckSelection(only []string, profileTarget string) error {
	for _, id := range only {
		if !slices.Contains(targetIDs, id) {
			return fmt.Errorf("no target %q; the targets are %s", id, strings.Join(targetIDs, ", "))
		}
	}
	if profileTarget == "" {
		return nil
	}
	if !slices.Contains(targetIDs, profileTarget) {
		return fmt.Errorf("no target %q to profile; the targets are %s", profileTarget, strings.Join(targetIDs, ", "))
	}
	if len(only) > 0 && !slices.Contains(only, profileTarget) {
		return fmt.Errorf("the profiled target %q is not among the targets measured (%s)", profileTarget, strings.Join(only, ", "))
	}
	return nil
}

// upstreamBody is what the loopback upstream answers the grants function,
// which answers grantsBody.
const (
	upstreamBody = "upstream"
	grantsBody   = "Hello, " + upstreamBody + "!\n"
)

// bareFetch is a bare handler that sends a GET request to url in every
// call, as the grants function does, and answers as it does.
func bareFetch(hc *http.Client, url string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, url, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello, %s!\n", b)
	})
}

// Run measures the targets and writes a report to out.
func Run(ctx context.Context, opts Options, out io.Writer) ([]Result, error) {
	if opts.Requests <= 0 || opts.Concurrency <= 0 {
		return nil, fmt.Errorf("requests and concurrency must be positive")
	}
	if err := CheckSelection(opts.Only, opts.ProfileTarget); err != nil {
		return nil, err
	}
	selected := func(id string) bool { return len(opts.Only) == 0 || slices.Contains(opts.Only, id) }
	if (selected(idUsed) || selected(idWrite)) && len(opts.Grants) == 0 {
		return nil, fmt.Errorf("the %s and %s targets need the grants function's module", idUsed, idWrite)
	}
	if selected(idHelloJS) && len(opts.HelloJS) == 0 {
		return nil, fmt.Errorf("the %s target needs the hello-ts module", idHelloJS)
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

	// The upstream the grants function calls.
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, upstreamBody)
	})}
	go upstream.Serve(upLn)
	defer upstream.Close()
	upPort := upLn.Addr().(*net.TCPAddr).Port

	// The bare handler again, making the grants function's request to the
	// upstream in every call: what one loopback exchange costs a server
	// that does nothing else, the floor under grants-used.
	fetchLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fetchClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Concurrency}, Timeout: 30 * time.Second}
	defer fetchClient.CloseIdleConnections()
	fetch := &http.Server{Handler: bareFetch(fetchClient, "http://"+upLn.Addr().String()+"/")}
	go fetch.Serve(fetchLn)
	defer fetch.Close()

	var fresh, snap *pave
	if selected(idFresh) {
		if fresh, err = startPave(ctx, filepath.Join(dir, "fresh"), config.IsolationFresh, opts, upPort); err != nil {
			return nil, err
		}
		defer fresh.stop(ctx)
	}
	if snap, err = startPave(ctx, filepath.Join(dir, "snapshot"), config.IsolationSnapshot, opts, upPort); err != nil {
		return nil, err
	}
	defer snap.stop(ctx)

	get := func(url, key string) request { return request{method: http.MethodGet, url: url, key: key} }
	post := func(url, key string) request {
		return request{method: http.MethodPost, url: url, key: key, body: CheckedBody, contentType: "application/json"}
	}
	// The checks are compared twice: with the run's clients, where their
	// cost shows as lost throughput and queueing, and with one client,
	// where a request's latency is its own cost alone; and so are bare and
	// hello, the references.
	n, one, c := opts.Requests, max(opts.Requests/4, 1), opts.Concurrency
	hello := opts.Body
	targets := []target{
		{idBare, "bare net/http", get("http://"+ln.Addr().String()+"/hello", ""), hello, nil, n, c},
		{idFetch, "bare net/http + GET to the upstream", get("http://"+fetchLn.Addr().String()+"/hello", ""), grantsBody, nil, n, c},
		// The naive mode is an order of magnitude slower; a tenth of the
		// requests measures it as well in a tenth of the time.
		{idFresh, "pave, fresh instance per call", request{}, hello, fresh, max(opts.Requests/10, 1), c},
		{idHello, "pave, snapshot (default)", get(snap.url, snap.key), hello, snap, n, c},
		{idUsed, "grants used: secret + outbound HTTP + KV get", get(snap.grantsURL, snap.grantsKey), grantsBody, snap, n, c},
		// The same with a KV put instead of the get: writes to one bucket
		// go at the disk's sync rate, whatever the gateway does.
		{idWrite, "grants used, KV put instead of get", get(snap.grantsURL+"?write=1", snap.grantsKey), grantsBody, snap, n, c},
		{idUnused, "grants unused: hello granted all three", get(snap.unusedURL, snap.unusedKey), hello, snap, n, c},
		{idHelloJS, "hello in TypeScript, snapshot", get(snap.jsURL, snap.jsKey), hello, snap, n, c},
		{idKey, "POST JSON, API key only", post(snap.keyURL, snap.checksKey), hello, snap, n, c},
		{idChecked, "POST JSON, JWT + schema + rate limit", post(snap.checkedURL, snap.token), hello, snap, n, c},
		{idBare1, "bare net/http, 1 client", get("http://"+ln.Addr().String()+"/hello", ""), hello, nil, one, 1},
		{idHello1, "pave, snapshot (default), 1 client", get(snap.url, snap.key), hello, snap, one, 1},
		{idKey1, "POST JSON, API key only, 1 client", post(snap.keyURL, snap.checksKey), hello, snap, one, 1},
		{idChecked1, "POST JSON, JWT + schema + rate limit, 1 client", post(snap.checkedURL, snap.token), hello, snap, one, 1},
	}
	if fresh != nil {
		i := slices.IndexFunc(targets, func(t target) bool { return t.id == idFresh })
		targets[i].req = get(fresh.url, fresh.key)
	}
	// Every module runs as machine code before the first target, the bare
	// handler included: a compilation still running in the background (the
	// JavaScript engine's takes tens of seconds of processor time) would be
	// measured as part of whichever target ran beside it.
	for _, p := range []*pave{fresh, snap} {
		if p != nil {
			if err := p.machineCode(ctx); err != nil {
				return nil, err
			}
		}
	}
	var results []Result
	// Every other target is measured between rounds of the bare handler
	// with as many clients, when that is measured too.
	reference := func(t target) *target {
		id := idBare
		if strings.HasSuffix(t.id, "-1") {
			id = idBare1
		}
		if t.id == id || !selected(id) {
			return nil
		}
		return &targets[slices.IndexFunc(targets, func(r target) bool { return r.id == id })]
	}
	for _, t := range targets {
		if !selected(t.id) {
			continue
		}
		r, err := t.run(ctx, opts, reference(t))
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	setRatios(results)
	report(out, opts, results)
	return results, nil
}

// target is one thing measured: a request, the body every answer must
// have, and the daemon it goes to (nil for the bare handler).
type target struct {
	id, name string
	req      request
	want     string
	pave     *pave
	requests int
	clients  int
}

// rounds is how many slices a target's measured requests are cut into
// when its bare reference is measured between them. The machine's speed
// drifts over a run (the bare handler's processor time a request moved
// between about 48 and 80 µs in consecutive runs of one binary), so a
// ratio over a bare handler measured a minute earlier moves with it;
// measured in alternating slices, both see the same minutes.
const rounds = 4

// run warms the target up, then measures it, in rounds alternating with
// ref, the bare handler with as many clients, unless ref is nil; and
// profiles it if it is opts.ProfileTarget (then without the reference's
// rounds, which the profile would hold too). Run has waited for every
// module's machine code.
func (t target) run(ctx context.Context, opts Options, ref *target) (Result, error) {
	if _, err := drive(ctx, t.req, t.want, opts.Warmup, t.clients, targetLimit); err != nil {
		return Result{}, fmt.Errorf("%s warm-up: %w", t.name, err)
	}
	if t.pave != nil {
		t.pave.costs.reset()
	}
	profile := t.id == opts.ProfileTarget && opts.Profile != nil
	n := 1
	if ref != nil && !profile {
		n = rounds
	} else {
		ref = nil
	}
	if profile {
		if err := pprof.StartCPUProfile(opts.Profile); err != nil {
			return Result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	var own, bare []Result
	var cpu time.Duration
	for i := range n {
		if ref != nil {
			b, err := drive(ctx, ref.req, ref.want, share(ref.requests, n, i), ref.clients, targetLimit/time.Duration(n))
			if err != nil {
				return Result{}, fmt.Errorf("%s, round %d: %w", ref.name, i+1, err)
			}
			bare = append(bare, b)
		}
		c := processorTime()
		r, err := drive(ctx, t.req, t.want, share(t.requests, n, i), t.clients, targetLimit/time.Duration(n))
		cpu += processorTime() - c
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", t.name, err)
		}
		own = append(own, r)
	}
	r := merge(own)
	r.ID, r.Name, r.Clients = t.id, t.name, t.clients
	r.CPU = cpu / time.Duration(r.Requests)
	if ref != nil {
		r.BareRPS = merge(bare).RPS()
	}
	if t.pave != nil {
		r.Isolation, r.IsolationP99 = t.pave.costs.summary()
	}
	return r, nil
}

// share is the i-th of n near-equal parts of total, at least 1.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return max(s, 1)
}

// merge adds up the measurements of one target's rounds: their requests,
// errors and times, and the percentiles of all their latencies.
func merge(parts []Result) Result {
	if len(parts) == 1 {
		return parts[0]
	}
	var r Result
	for _, p := range parts {
		r.Requests += p.Requests
		r.Errors += p.Errors
		r.Elapsed += p.Elapsed
		r.lat = append(r.lat, p.lat...)
	}
	slices.Sort(r.lat)
	r.P50, r.P99, r.P999 = percentile(r.lat, 0.50), percentile(r.lat, 0.99), percentile(r.lat, 0.999)
	return r
}

// percentile is the p-quantile of sorted latencies.
func percentile(lat []time.Duration, p float64) time.Duration {
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// setRatios sets each result's OverBare and OverHello from the results
// of the bare handler and of hello (their one-client variants for a
// one-client target): over bare from the bare rounds measured with the
// target where there were some, else from the bare target's own; over
// hello as the target's ratio over bare over hello's, so that a drift of
// the machine's speed between the two cancels out, or from the two
// targets' requests/s when the bare handler was not measured.
func setRatios(results []Result) {
	rps := map[string]float64{}
	for _, r := range results {
		rps[r.ID] = r.RPS()
	}
	refs := func(id string) (bare, hello string) {
		if strings.HasSuffix(id, "-1") {
			return idBare1, idHello1
		}
		return idBare, idHello
	}
	overBare := map[string]float64{}
	for i, r := range results {
		bare, _ := refs(r.ID)
		b := r.BareRPS
		if b == 0 {
			b = rps[bare]
		}
		if b > 0 && r.ID != bare {
			results[i].OverBare = r.RPS() / b
		}
		overBare[r.ID] = results[i].OverBare
	}
	for i, r := range results {
		_, hello := refs(r.ID)
		if rps[hello] == 0 || strings.HasPrefix(r.ID, idBare) || r.ID == hello {
			continue
		}
		if t, h := overBare[r.ID], overBare[hello]; t > 0 && h > 0 {
			results[i].OverHello = t / h
		} else {
			results[i].OverHello = r.RPS() / rps[hello]
		}
	}
}

// pave is one daemon under test, with hello deployed and a key for it;
// on the default daemon also behind the checks' two routes, with a JWT
// for the checked one, and the grants function and hello with unused
// grants, each with its key.
type pave struct {
	*node
	url, key                             string
	keyURL, checksKey, checkedURL, token string
	grantsURL, grantsKey                 string
	unusedURL, unusedKey                 string
	jsURL, jsKey                         string
	costs                                *costRecorder
	log                                  *os.File
}

// stop stops the daemon and closes its log.
func (p *pave) stop(ctx context.Context) {
	p.node.stop(ctx)
	p.log.Close()
}

// loopback are the networks the daemons' http capability may reach,
// for the upstream on 127.0.0.1; ::1 too, where localhost resolves to it.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// startPave starts a daemon on dir that logs as pave serve does, a JSON
// line for every invocation, to the file dir.log, and deploys the
// functions its targets call.
func startPave(ctx context.Context, dir, isolation string, opts Options, upstreamPort int) (p *pave, err error) {
	costs := &costRecorder{}
	signer, issuer, err := newJWTSigner()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(dir + ".log")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewMultiHandler(slog.NewJSONHandler(logFile, nil), costs))
	n, err := startNode(ctx, dir, isolation, log, func(c *config.Config) {
		c.Defenses.Issuers = []config.Issuer{issuer}
		c.Defenses.EgressAllow = loopback
	})
	if err != nil {
		logFile.Close()
		return nil, err
	}
	defer func() {
		if err != nil {
			n.stop(ctx)
			logFile.Close()
		}
	}()
	concurrency := max(opts.Concurrency*2, 32)
	key, err := n.deploy(ctx, "hello", "/hello", opts.Hello, concurrency)
	if err != nil {
		return nil, err
	}
	p = &pave{node: n, url: n.d.GatewayURL() + "/hello", key: key, costs: costs, log: logFile}
	if isolation != config.IsolationSnapshot {
		return p, nil
	}
	if p.checksKey, err = n.deployText(ctx, "checks", ChecksManifest("checks", concurrency), opts.Hello); err != nil {
		return nil, fmt.Errorf("deploy the checks' routes: %w", err)
	}
	if p.token, err = signer.token(); err != nil {
		return nil, err
	}
	p.keyURL, p.checkedURL = n.d.GatewayURL()+"/key/checks", n.d.GatewayURL()+"/checked/checks"

	upstream := fmt.Sprintf("http://localhost:%d/", upstreamPort)
	if _, err := n.admin.SetSecret(ctx, upstreamSecret, []byte(upstream)); err != nil {
		return nil, err
	}
	if p.unusedKey, err = n.deployText(ctx, "unused", grantsManifest("unused", upstreamPort, concurrency), opts.Hello); err != nil {
		return nil, fmt.Errorf("deploy hello with grants: %w", err)
	}
	p.unusedURL = n.d.GatewayURL() + "/unused"
	if len(opts.Grants) > 0 {
		if p.grantsKey, err = n.deployText(ctx, "grants", grantsManifest("grants", upstreamPort, concurrency), opts.Grants); err != nil {
			return nil, fmt.Errorf("deploy the grants function: %w", err)
		}
		p.grantsURL = n.d.GatewayURL() + "/grants"
	}
	if len(opts.HelloJS) > 0 {
		if p.jsKey, err = n.deployText(ctx, "hellojs", helloJSManifest(concurrency), opts.HelloJS); err != nil {
			return nil, fmt.Errorf("deploy hello in TypeScript: %w", err)
		}
		p.jsURL = n.d.GatewayURL() + "/hellojs"
	}
	return p, nil
}

// helloJSManifest deploys the JavaScript hello on GET /hellojs, with the
// rate limits out of the way as for the other targets.
func helloJSManifest(concurrency int) string {
	return fmt.Sprintf(`name: hellojs
owner: bench
runtime: js
main: src/index.ts
routes:
  - method: GET
    path: /hellojs
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: %d
`, concurrency)
}

// upstreamSecret holds the upstream's URL for the grants function.
const upstreamSecret = "BENCH_UPSTREAM_URL"

// grantsManifest deploys a function on GET /name with a secret, a bucket
// and the loopback upstream granted. The http grant names localhost: a
// grant of an IP address counts only where the operator allows IP grants,
// which the daemon does not; the daemon's --egress-allow lets the name's
// loopback addresses through.
func grantsManifest(name string, upstreamPort, concurrency int) string {
	return fmt.Sprintf(`name: %s
owner: bench
capabilities:
  secrets: [%s]
  kv: {bench: write}
  http: ["localhost:%d"]
routes:
  - method: GET
    path: /%s
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: %d
`, name, upstreamSecret, upstreamPort, name, concurrency)
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

// drive sends n requests from workers goroutines and measures each one,
// or as many as it sends in limit. A response other than 200 with body
// want counts as an error.
func drive(ctx context.Context, rq request, want string, n, workers int, limit time.Duration) (Result, error) {
	return driveEach(ctx, []request{rq}, func(status int, body []byte) error { return checkResponse(status, body, want) }, n, workers, limit)
}

// driveEach is drive with the i-th request sent being rqs[i % len(rqs)],
// each answer checked by check.
func driveEach(ctx context.Context, rqs []request, check func(status int, body []byte) error, n, workers int, limit time.Duration) (Result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	begin := time.Now()
	deadline := begin.Add(limit)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				// Every index taken below n is measured, so the first
				// min(next, n) entries of lat are filled.
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rq := rqs[i%len(rqs)]
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
					if err == nil {
						err = check(resp.StatusCode, buf)
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
	lat = lat[:min(int(next.Load()), n)]
	if len(lat) == 0 {
		return Result{}, fmt.Errorf("no request was sent in %s", limit)
	}
	if e := errs.Load(); e > int64(len(lat))/100 {
		return Result{}, fmt.Errorf("%d of %d requests failed, first: %v", e, len(lat), firstErr.Load())
	}
	slices.Sort(lat)
	return Result{Requests: len(lat), Errors: int(errs.Load()), Elapsed: elapsed,
		P50: percentile(lat, 0.50), P99: percentile(lat, 0.99), P999: percentile(lat, 0.999), lat: lat}, nil
}

// checkResponse returns an error unless a response has status 200 and
// body want.
func checkResponse(status int, body []byte, want string) error {
	if status != http.StatusOK || string(body) != want {
		return fmt.Errorf("status %d body %q, want 200 %q", status, clip(body), want)
	}
	return nil
}

// clip shortens a body quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
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
	fmt.Fprintf(out, "%d warm-up requests per target, %d concurrent keep-alive clients unless the name says 1, loopback; at most %s per target\n\n",
		opts.Warmup, opts.Concurrency, targetLimit)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tid\trequests\trequests/s\tover bare\tover hello\tp50\tp99\tp99.9\tisolation mean\tisolation p99\tcpu/request\t")
	ratio := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f", v)
	}
	for _, r := range results {
		iso, isoP99 := "-", "-"
		if r.Isolation > 0 {
			iso, isoP99 = us(r.Isolation), us(r.IsolationP99)
		}
		cpu := "-"
		if r.CPU > 0 {
			cpu = us(r.CPU)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.ID, r.Requests, r.RPS(),
			ratio(r.OverBare), ratio(r.OverHello), ms(r.P50), ms(r.P99), ms(r.P999), iso, isoP99, cpu)
	}
	tw.Flush()
	byID := map[string]Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	if fresh, snap := byID[idFresh], byID[idHello]; fresh.Requests > 0 && snap.Requests > 0 {
		fmt.Fprintf(out, "\nsnapshot / fresh: %.1fx the fresh mode's requests/s\n", snap.RPS()/fresh.RPS())
	}
	if key, checked := byID[idKey], byID[idChecked]; key.Requests > 0 && checked.Requests > 0 {
		fmt.Fprintf(out, "checks (JWT + schema + rate limit) over the API key alone, %d clients: p50 %s, p99 %s; requests/s %.3f of the key-only route's\n",
			opts.Concurrency, signedUS(checked.P50-key.P50), signedUS(checked.P99-key.P99), checked.RPS()/key.RPS())
	}
	if extra, ceiling, ok := fetchCeiling(results); ok {
		fmt.Fprintf(out, "one upstream exchange adds %s of processor time a request to a bare handler (bare-fetch - bare); at hello's %s, grants used / hello can reach at most %.3f, were its secret, bucket and guest free\n",
			signedUS(extra), us(byID[idHello].CPU), ceiling)
	}
	if goals := Goals(results); len(goals) > 0 {
		fmt.Fprintln(out, "\nfigures with goals:")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, g := range goals {
			met := "met"
			if !g.Met() {
				met = "not met"
			}
			fmt.Fprintf(tw, "  %s\t%s\tgoal %s\t%s\n", g.Figure, g.value(), g.goal(), met)
		}
		tw.Flush()
	}
}

// fetchCeiling returns the processor time one loopback exchange with the
// upstream adds to a request (bare-fetch's over bare's), and the most
// grants-used could reach over hello if that were all it added:
// hello / (hello + extra), in processor time per request, which bounds
// requests/s on a machine whose cores the run keeps busy.
func fetchCeiling(results []Result) (extra time.Duration, ceiling float64, ok bool) {
	var bare, fetch, hello time.Duration
	for _, r := range results {
		switch r.ID {
		case idBare:
			bare = r.CPU
		case idFetch:
			fetch = r.CPU
		case idHello:
			hello = r.CPU
		}
	}
	if bare <= 0 || fetch <= 0 || hello <= 0 {
		return 0, 0, false
	}
	extra = fetch - bare
	return extra, float64(hello) / float64(hello+max(extra, 0)), true
}

func signedUS(d time.Duration) string {
	return fmt.Sprintf("%+.0fµs", float64(d.Nanoseconds())/1000)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1000) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
