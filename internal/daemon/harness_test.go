package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
)

// sharedCache is one compilation cache for every daemon of the test run, so
// each guest is compiled once, not once per test; sharedSnapshots does the
// same for their snapshots.
var (
	sharedCache     string
	sharedSnapshots daemon.SharedSnapshots
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChildDataDir); dir != "" {
		runChildDaemon(dir) // a daemon for TestKillDuringAsyncWork
	}
	if args := os.Getenv(envNATSChild); args != "" {
		runNATSChild(args) // a NATS server for TestClusterNATSProcessKilled
	}
	dir, err := os.MkdirTemp("", "pave-daemon-test-cache-")
	if err != nil {
		panic(err)
	}
	sharedCache = dir
	flag.Parse()
	if took, err := testguests.PrecompileInto(dir); err != nil {
		fmt.Fprintln(os.Stderr, "the guests compile under the race detector:", err)
	} else if took > 0 {
		fmt.Fprintf(os.Stderr, "guests compiled without the race detector in %s\n", took.Round(time.Second))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a daemon started in-process on random loopback ports, with an
// admin client and a capture of its log.
type node struct {
	t      testing.TB
	d      *daemon.Daemon
	cfg    config.Config
	admin  *client.Client
	logs   *syncBuffer
	closed bool
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log records whose fields include every pair in match.
func (b *syncBuffer) lines(match map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(b.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		ok := true
		for k, v := range match {
			if rec[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out
}

// start runs a daemon on dataDir ("" for a fresh one) and stops it when the
// test ends.
func start(t testing.TB, dataDir string) *node {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a daemon; skipped with -short")
	}
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.GatewayAddr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.CacheDir = sharedCache
	// Modules serve as machine code from the deploy on, as these tests'
	// deadlines assume; TestNewModuleServesBeforeItsMachineCode runs the
	// default.
	cfg.CompileBeforeServing = true
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	daemon.ShareSnapshots(d, &sharedSnapshots)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	token, err := os.ReadFile(cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, d: d, cfg: cfg, logs: logs, admin: client.New(d.AdminURL(), strings.TrimSpace(string(token)))}
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.closed {
		return
	}
	n.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.d.Shutdown(ctx); err != nil {
		n.t.Errorf("shutdown: %v", err)
	}
}

// deploy uploads module and deploys it with manifest, failing the test on
// error.
func (n *node) deploy(manifest string, module []byte) *client.Function {
	n.t.Helper()
	f, err := n.tryDeploy(manifest, module)
	if err != nil {
		// The error a client sees may be internal; the daemon's log says why.
		var why []string
		for _, l := range n.logs.lines(map[string]any{"level": "ERROR"}) {
			b, _ := json.Marshal(l)
			why = append(why, string(b))
		}
		n.t.Fatalf("deploy: %v; the daemon logged:\n%s", err, strings.Join(why, "\n"))
	}
	return f
}

func (n *node) tryDeploy(manifest string, module []byte) (*client.Function, error) {
	ctx := context.Background()
	digest, err := n.admin.PutBlob(ctx, module)
	if err != nil {
		return nil, err
	}
	return n.admin.Deploy(ctx, client.DeployRequest{Manifest: manifest, ManifestFile: "pave.yaml", Digest: digest})
}

// machineCode waits until the daemon runs every module it loaded as
// machine code, for a daemon that serves new modules on the interpreter
// meanwhile (not start's).
func (n *node) machineCode() {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for n.d.InterpretedModules() > 0 {
		if time.Now().After(deadline) {
			n.t.Fatalf("modules still interpreted after five minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// key creates an API key for functions and returns its secret.
func (n *node) key(name string, functions ...string) string {
	n.t.Helper()
	k, err := n.admin.CreateKey(context.Background(), client.CreateKeyRequest{Name: name, Functions: functions})
	if err != nil {
		n.t.Fatalf("create key: %v", err)
	}
	return k.Secret
}

// response is a gateway answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return v
}

// errorCode returns the code of the one error shape, failing if the body is
// not that shape.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e client.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %q is not the error shape: %v", r.body, err)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("error request_id %q does not match X-Request-Id %q", e.Error.RequestID, r.header.Get("X-Request-Id"))
	}
	return e.Error.Code
}

// call sends a request to the gateway; key may be "".
func (n *node) call(method, path, key string, body []byte) response {
	n.t.Helper()
	req, err := http.NewRequest(method, n.d.GatewayURL()+path, bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// walkFiles calls fn with the contents of every regular file under dir.
func walkFiles(dir string, fn func(path string, data []byte)) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil {
			fn(path, data)
		}
		return nil
	})
}
