package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-dev/pave/client"
)

// ClusterOptions configure RunCluster.
type ClusterOptions struct {
	// Nodes is the number of pave nodes of the second phase; the first has
	// one. The NATS cluster has three servers either way.
	Nodes int
	// Replicas is the daemons' --replicas.
	Replicas int
	// Requests per target and phase, after Warmup requests that are not
	// measured; a target stops early once it has run for targetLimit.
	Requests, Warmup int
	// Concurrency is the number of client workers, each with a keep-alive
	// connection to every node it sends to.
	Concurrency int
	// Hello is the examples/hello module, and Body what it answers.
	Hello []byte
	Body  string
	// Executable is the pave binary, which RunCluster runs as its
	// children: NATSCommand for the NATS servers, serve for the nodes.
	Executable string
}

// ClusterPhase is what RunCluster measured with a number of pave nodes.
type ClusterPhase struct {
	Nodes int
	// Idle is the processor time each process used over IdleWindow with
	// no request, before the targets: heartbeats, health checks, flushes.
	IdleWindow time.Duration
	Idle       []ProcessCPU
	Targets    []ClusterResult
}

// ClusterResult is one target measured through a phase's nodes.
type ClusterResult struct {
	ID, Name string
	// Requests, Elapsed and the latencies are those of the requests sent:
	// for an asynchronous call, of its submission, answered 202.
	Result
	// Drain is how long the asynchronous calls submitted took to run
	// after the last submission was answered; the processor times count
	// it.
	Drain time.Duration
	// Processes is the processor time each child used while the target was
	// measured (and drained), Client that of this process: the clients.
	Processes []ProcessCPU
	Client    time.Duration
	// Writes is the number of messages the target stored in JetStream's
	// streams, the key-value buckets' included: each a write every
	// replica makes, agreed by a quorum of them.
	Writes uint64
	// StreamWrites are the Writes of each stream that stored any, and
	// Leaders the server that led each of those streams at the end.
	StreamWrites map[string]uint64
	Leaders      map[string]string
}

// RunsPerSecond is, for asynchronous calls, the calls submitted and run
// per second, from the first submission until the queue was empty.
func (r ClusterResult) RunsPerSecond() float64 {
	return float64(r.Requests) / (r.Elapsed + r.Drain).Seconds()
}

// ProcessCPU is the processor time one child process used.
type ProcessCPU struct {
	Name string
	// NATS is true for a NATS server, false for a pave node.
	NATS bool
	CPU  time.Duration
}

// CPU sums the processor time of the pave nodes (nats false) or of the
// NATS servers (nats true).
func (r ClusterResult) CPU(nats bool) time.Duration { return sumCPU(r.Processes, nats) }

// PerRequest is d divided among the target's requests.
func (r ClusterResult) PerRequest(d time.Duration) time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return d / time.Duration(r.Requests)
}

func sumCPU(ps []ProcessCPU, nats bool) time.Duration {
	var sum time.Duration
	for _, p := range ps {
		if p.NATS == nats {
			sum += p.CPU
		}
	}
	return sum
}

// The cluster targets' IDs.
const (
	idClusterHello = "hello"
	idClusterAsync = "async"
)

// RunCluster starts a three-server NATS JetStream cluster on loopback and
// one pave node on it, each a child process running opts.Executable, and
// measures hello and an asynchronous call of hello through that node;
// then starts opts.Nodes-1 more nodes and measures the same round-robin
// through all of them. Each target's processor time is read, per process,
// from /proc before and after it, so that pave's cost per request is told
// apart from the NATS servers'. It writes a report to out.
func RunCluster(ctx context.Context, opts ClusterOptions, out io.Writer) (_ []ClusterPhase, err error) {
	if opts.Requests <= 0 || opts.Concurrency <= 0 || opts.Nodes <= 0 || opts.Replicas <= 0 {
		return nil, fmt.Errorf("requests, concurrency, nodes and replicas must be positive")
	}
	if opts.Replicas > natsServers {
		return nil, fmt.Errorf("--replicas %d: the benchmark's NATS cluster has %d servers", opts.Replicas, natsServers)
	}
	if _, err := processCPU(os.Getpid()); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pave-bench-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c := &cluster{opts: opts, dir: dir}
	defer c.stop()
	defer func() {
		if err != nil {
			err = c.errorsLogged(err)
		}
	}()
	if err := c.startNATS(ctx); err != nil {
		return nil, err
	}
	if err := c.startNode(ctx); err != nil {
		return nil, err
	}
	if err := c.deploy(ctx); err != nil {
		return nil, err
	}
	var phases []ClusterPhase
	for _, nodes := range []int{1, opts.Nodes} {
		for len(c.nodes) < nodes {
			if err := c.startNode(ctx); err != nil {
				return nil, err
			}
		}
		p, err := c.phase(ctx, nodes)
		if err != nil {
			return nil, err
		}
		phases = append(phases, p)
		if opts.Nodes == 1 {
			break
		}
	}
	reportCluster(out, opts, phases)
	return phases, nil
}

// natsServers is the size of the benchmark's NATS cluster.
const natsServers = 3

// cluster is the children of a run.
type cluster struct {
	opts     ClusterOptions
	dir      string
	natsURLs []string
	servers  []*child
	nc       *nats.Conn
	js       jetstream.JetStream // to count the messages stored
	nodes    []*paveNode
	admin    *client.Client // through the first node
	token    string         // the admin token
	key      string         // may call hello
}

// child is a process RunCluster started.
type child struct {
	name string
	nats bool
	cmd  *exec.Cmd
	log  string // the file its standard error goes to
	done chan struct{}
}

// paveNode is a pave node with its gateway and admin URLs.
type paveNode struct {
	*child
	gateway, admin string
}

// start runs the executable with args as child name, its standard error
// to a file in the run's directory, its standard output to stdout if not
// nil. Variables of pave's configuration are not passed on: the flags
// say everything.
func (c *cluster) start(name string, nats bool, stdout io.Writer, args ...string) (*child, error) {
	cmd := exec.Command(c.opts.Executable, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAVE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	logFile := filepath.Join(c.dir, name+".log")
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd.Stderr, cmd.Stdout = f, stdout
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ch := &child{name: name, nats: nats, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(ch.done)
	}()
	return ch, nil
}

// failed returns err with the end of the child's log, where the reason
// it failed usually is.
func (ch *child) failed(err error) error {
	b, _ := os.ReadFile(ch.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return fmt.Errorf("%s: %w; its log ends:\n%s", ch.name, err, s)
	}
	return fmt.Errorf("%s: %w", ch.name, err)
}

// errorsLogged adds to err the last errors the nodes logged, before
// their logs go with the run's directory: where a node answered 500,
// its log says why.
func (c *cluster) errorsLogged(err error) error {
	var lines []string
	for _, n := range c.nodes {
		b, _ := os.ReadFile(n.log)
		var errs []string
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, `"level":"ERROR"`) {
				errs = append(errs, n.name+": "+strings.TrimSpace(line))
			}
		}
		lines = append(lines, errs[max(0, len(errs)-5):]...)
	}
	if len(lines) == 0 {
		return err
	}
	return fmt.Errorf("%w; the nodes logged:\n%s", err, strings.Join(lines, "\n"))
}

// terminate sends SIGTERM and waits, then kills the child after a while.
func (ch *child) terminate() {
	ch.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ch.done:
	case <-time.After(30 * time.Second):
		ch.cmd.Process.Kill()
		<-ch.done
	}
}

// stop ends the pave nodes, then the NATS servers.
func (c *cluster) stop() {
	if c.nc != nil {
		c.nc.Close()
	}
	for _, n := range c.nodes {
		n.terminate()
	}
	for _, s := range c.servers {
		s.terminate()
	}
}

// freePorts returns n loopback ports free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// startNATS starts the three NATS servers and waits for each to accept
// connections; pave waits for JetStream itself.
func (c *cluster) startNATS(ctx context.Context) error {
	routes, err := freePorts(natsServers)
	if err != nil {
		return err
	}
	for i := range natsServers {
		s := NATSServer{Name: fmt.Sprintf("nats%d", i+1), StoreDir: filepath.Join(c.dir, fmt.Sprintf("nats%d", i+1)), ClusterPort: routes[i], Routes: routes}
		r, w := io.Pipe()
		ch, err := c.start(s.Name, true, w, append([]string{NATSCommand}, s.args()...)...)
		if err != nil {
			return err
		}
		c.servers = append(c.servers, ch)
		url := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == natsReady {
					url <- f[1]
				}
			}
		}()
		go func() {
			<-ch.done
			w.Close()
		}()
		select {
		case u := <-url:
			c.natsURLs = append(c.natsURLs, u)
		case <-ch.done:
			return ch.failed(errors.New("exited"))
		case <-time.After(time.Minute):
			return ch.failed(errors.New("not ready within a minute"))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	nc, err := nats.Connect(strings.Join(c.natsURLs, ","))
	if err != nil {
		return err
	}
	c.nc = nc
	c.js, err = jetstream.New(nc)
	return err
}

// writes returns the last sequence of every stream: the messages stored
// so far, deleted ones included.
// writes returns the last sequence of every stream (the messages stored
// so far, deleted ones included) and the server that leads it.
func (c *cluster) writes(ctx context.Context) (seqs map[string]uint64, leaders map[string]string, err error) {
	seqs, leaders = map[string]uint64{}, map[string]string{}
	streams := c.js.ListStreams(ctx)
	for info := range streams.Info() {
		seqs[info.Config.Name] = info.State.LastSeq
		if info.Cluster != nil {
			leaders[info.Config.Name] = info.Cluster.Leader
		}
	}
	if err := streams.Err(); err != nil {
		return nil, nil, fmt.Errorf("count the messages stored: %w", err)
	}
	return seqs, leaders, nil
}

// startNode starts one more pave node, on the NATS server of its number
// first, and waits for its health check to pass. The first node makes
// the keys in the run's directory; the others are given them.
func (c *cluster) startNode(ctx context.Context) error {
	i := len(c.nodes)
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	urls := append(append([]string{}, c.natsURLs[i%len(c.natsURLs):]...), c.natsURLs[:i%len(c.natsURLs)]...)
	name := fmt.Sprintf("pave%d", i+1)
	ch, err := c.start(name, false, nil, "serve",
		"--data", filepath.Join(c.dir, name),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--admin", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--nats-url", strings.Join(urls, ","),
		"--replicas", strconv.Itoa(c.opts.Replicas),
		"--master-key-file", filepath.Join(c.dir, "master.key"),
		"--audit-key-file", filepath.Join(c.dir, "audit.key"),
		"--compile-before-serving")
	if err != nil {
		return err
	}
	n := &paveNode{child: ch, gateway: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), admin: fmt.Sprintf("http://127.0.0.1:%d", ports[1])}
	c.nodes = append(c.nodes, n)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.admin+"/v1/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-ch.done:
			return ch.failed(errors.New("exited"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return ch.failed(errors.New("not healthy within 2 minutes"))
		}
	}
	if i > 0 {
		return nil
	}
	token, err := os.ReadFile(filepath.Join(c.dir, name, "admin.token"))
	if err != nil {
		return err
	}
	c.token = strings.TrimSpace(string(token))
	c.admin = client.New(n.admin, c.token)
	return nil
}

// clusterManifest deploys hello on GET /hello, called synchronously, and
// POST /hello, called asynchronously, with limits that never refuse:
// rates far above what one machine sends and a concurrency that leaves
// every node's share above the clients and async workers it serves.
func clusterManifest(concurrency int) string {
	return fmt.Sprintf(`name: hello
owner: bench
routes:
  - method: GET
    path: /hello
  - method: POST
    path: /hello
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: %d
`, concurrency)
}

// deploy deploys hello through the first node, with a key for it.
func (c *cluster) deploy(ctx context.Context) error {
	n := &node{admin: c.admin}
	key, err := n.deployText(ctx, "hello", clusterManifest(max(c.opts.Concurrency*2, 64)*max(c.opts.Nodes, 1)), c.opts.Hello)
	if err != nil {
		return fmt.Errorf("deploy hello: %w", err)
	}
	c.key = key
	return nil
}

// asyncBody is what the asynchronous calls send.
const asyncBody = `{"bench":true}`

// phase measures the targets through the first nodes.
func (c *cluster) phase(ctx context.Context, nodes int) (ClusterPhase, error) {
	p := ClusterPhase{Nodes: nodes, IdleWindow: idleWindow}
	var hello, async []request
	for _, n := range c.nodes[:nodes] {
		if err := c.reached(ctx, n); err != nil {
			return p, err
		}
		hello = append(hello, request{method: http.MethodGet, url: n.gateway + "/hello", key: c.key})
		async = append(async, request{method: http.MethodPost, url: n.gateway + "/async/hello", key: c.key, body: asyncBody, contentType: "application/json"})
	}
	// What the nodes and servers do with no request.
	before, _, err := c.cpu(nodes)
	if err != nil {
		return p, err
	}
	select {
	case <-time.After(idleWindow):
	case <-ctx.Done():
		return p, ctx.Err()
	}
	after, _, err := c.cpu(nodes)
	if err != nil {
		return p, err
	}
	p.Idle = diffCPU(after, before)

	wantHello := func(status int, body []byte) error { return checkResponse(status, body, c.opts.Body) }
	targets := []struct {
		id, name string
		rqs      []request
		check    func(int, []byte) error
		async    bool
	}{
		{idClusterHello, "hello", hello, wantHello, false},
		{idClusterAsync, "hello, asynchronous: submitted and run", async, acceptedCall, true},
	}
	for _, t := range targets {
		if _, err := driveEach(ctx, t.rqs, t.check, c.opts.Warmup, c.opts.Concurrency, targetLimit); err != nil {
			return p, fmt.Errorf("%s warm-up through %d nodes: %w", t.name, nodes, err)
		}
		if t.async {
			if _, err := c.drain(ctx); err != nil {
				return p, err
			}
		}
		writes, _, err := c.writes(ctx)
		if err != nil {
			return p, err
		}
		before, self, err := c.cpu(nodes)
		if err != nil {
			return p, err
		}
		r, err := driveEach(ctx, t.rqs, t.check, c.opts.Requests, c.opts.Concurrency, targetLimit)
		if err != nil {
			return p, fmt.Errorf("%s through %d nodes: %w", t.name, nodes, err)
		}
		res := ClusterResult{ID: t.id, Name: t.name, Result: r}
		res.Clients = c.opts.Concurrency
		if t.async {
			if res.Drain, err = c.drain(ctx); err != nil {
				return p, err
			}
		}
		after, selfAfter, err := c.cpu(nodes)
		if err != nil {
			return p, err
		}
		res.Processes, res.Client = diffCPU(after, before), selfAfter-self
		w, leaders, err := c.writes(ctx)
		if err != nil {
			return p, err
		}
		res.StreamWrites, res.Leaders = map[string]uint64{}, map[string]string{}
		for name, seq := range w {
			if d := seq - writes[name]; d > 0 {
				res.StreamWrites[name], res.Leaders[name] = d, leaders[name]
				res.Writes += d
			}
		}
		p.Targets = append(p.Targets, res)
	}
	return p, nil
}

// idleWindow is how long a phase measures the processes at rest.
const idleWindow = 3 * time.Second

// acceptedCall checks the answer to an asynchronous call: 202 with the
// call's id.
func acceptedCall(status int, body []byte) error {
	if status != http.StatusAccepted || !strings.Contains(string(body), `"id":"`) {
		return fmt.Errorf("status %d body %q, want 202 with the call's id", status, clip(body))
	}
	return nil
}

// reached waits until node n answers hello: the deploy and the key made
// through the first node reach the others within moments, and a node
// compiles the module before it first serves it.
func (c *cluster) reached(ctx context.Context, n *paveNode) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.gateway+"/hello", nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err = checkResponse(resp.StatusCode, b, c.opts.Body); err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return n.failed(fmt.Errorf("hello not served within 2 minutes (last: %v)", last))
}

// drain waits until the async queue is empty: every call submitted has
// run. It reads pave_async_pending, which counts across the cluster,
// from the first node's metrics.
func (c *cluster) drain(ctx context.Context) (time.Duration, error) {
	began := time.Now()
	for {
		pending, err := c.pending(ctx)
		if err != nil {
			return 0, err
		}
		if pending == 0 {
			return time.Since(began), nil
		}
		if time.Since(began) > 5*time.Minute {
			return 0, fmt.Errorf("%g asynchronous calls still pending after 5 minutes", pending)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pending reads pave_async_pending from the first node.
func (c *cluster) pending(ctx context.Context) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.nodes[0].admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: status %d %q", resp.StatusCode, clip(b))
	}
	return metricValue(string(b), "pave_async_pending")
}

// metricValue finds the value of an unlabelled metric in the Prometheus
// text format.
func metricValue(text, name string) (float64, error) {
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", name, err)
			}
			if v < 0 {
				return 0, fmt.Errorf("metric %s is %g: the node could not read it", name, v)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// cpu reads the processor time of the NATS servers, of the first nodes
// and of this process.
func (c *cluster) cpu(nodes int) ([]ProcessCPU, time.Duration, error) {
	var ps []ProcessCPU
	for _, s := range c.servers {
		ps = append(ps, ProcessCPU{Name: s.name, NATS: true})
	}
	for _, n := range c.nodes[:nodes] {
		ps = append(ps, ProcessCPU{Name: n.name})
	}
	children := append(append([]*child{}, c.servers...), nodeChildren(c.nodes[:nodes])...)
	for i, ch := range children {
		d, err := processCPU(ch.cmd.Process.Pid)
		if err != nil {
			return nil, 0, err
		}
		ps[i].CPU = d
	}
	return ps, processorTime(), nil
}

func nodeChildren(nodes []*paveNode) []*child {
	out := make([]*child, len(nodes))
	for i, n := range nodes {
		out[i] = n.child
	}
	return out
}

// diffCPU returns each process's processor time in after less that in
// before, which lists the same processes.
func diffCPU(after, before []ProcessCPU) []ProcessCPU {
	out := make([]ProcessCPU, len(after))
	for i, p := range after {
		out[i] = p
		out[i].CPU -= before[i].CPU
	}
	return out
}

func reportCluster(out io.Writer, opts ClusterOptions, phases []ClusterPhase) {
	fmt.Fprintf(out, "%d NATS servers clustered on loopback (JetStream, fsync on every write), pave nodes with --replicas %d, each a child process;\n",
		natsServers, opts.Replicas)
	fmt.Fprintf(out, "%d warm-up requests per target, %d concurrent keep-alive clients sending round-robin to the nodes; at most %s per target.\n",
		opts.Warmup, opts.Concurrency, targetLimit)
	fmt.Fprintf(out, "hello: GET /hello, answered when run; async: POST /async/hello, answered 202 once stored, then run by the nodes' workers\n")
	fmt.Fprintf(out, "(run/s: calls submitted and run per second, until the queue was empty). CPU per request from /proc/PID/stat, in 10 ms steps,\n")
	fmt.Fprintf(out, "until the asynchronous calls had run; store writes: messages stored in JetStream streams (and buckets), per request.\n\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tnodes\trequests\trequests/s\tp50\tp99\trun/s\tpave CPU ms/req\tnats CPU ms/req\tclient CPU ms/req\tstore writes/req\t")
	for _, p := range phases {
		for _, r := range p.Targets {
			runs := "-"
			if r.ID == idClusterAsync {
				runs = fmt.Sprintf("%.0f", r.RunsPerSecond())
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t\n", r.ID, p.Nodes, r.Requests, r.RPS(), ms(r.P50), ms(r.P99), runs,
				msPer(r.PerRequest(r.CPU(false))), msPer(r.PerRequest(r.CPU(true))), msPer(r.PerRequest(r.Client)), float64(r.Writes)/float64(r.Requests))
		}
	}
	tw.Flush()
	fmt.Fprintln(out, "\nCPU ms per request, by process:")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, p := range phases {
		for _, r := range p.Targets {
			fmt.Fprintf(tw, "  %s, %s:", r.ID, nodeCount(p.Nodes))
			for _, pc := range r.Processes {
				fmt.Fprintf(tw, "\t%s %s", pc.Name, msPer(r.PerRequest(pc.CPU)))
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	fmt.Fprintln(out, "\nStore writes per request, by stream (and the server leading it):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, p := range phases {
		for _, r := range p.Targets {
			fmt.Fprintf(tw, "  %s, %s:", r.ID, nodeCount(p.Nodes))
			for _, name := range slices.Sorted(maps.Keys(r.StreamWrites)) {
				fmt.Fprintf(tw, "\t%s %.3f (%s)", name, float64(r.StreamWrites[name])/float64(r.Requests), r.Leaders[name])
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	fmt.Fprintln(out, "\nCPU at rest, ms per second, by process:")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, p := range phases {
		fmt.Fprintf(tw, "  %s, over %s:", nodeCount(p.Nodes), p.IdleWindow)
		for _, pc := range p.Idle {
			fmt.Fprintf(tw, "\t%s %.0f", pc.Name, float64(pc.CPU.Milliseconds())/p.IdleWindow.Seconds())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(phases) == 2 {
		fmt.Fprintf(out, "\nthrough %d nodes over through 1, requests/s:", phases[1].Nodes)
		for i, r := range phases[1].Targets {
			if one := phases[0].Targets[i]; one.Requests > 0 {
				fmt.Fprintf(out, " %s %.2fx", r.ID, r.RPS()/one.RPS())
			}
		}
		fmt.Fprintln(out)
	}
}

func nodeCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// msPer formats a processor time per request in milliseconds.
func msPer(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Nanoseconds())/1e6) }
