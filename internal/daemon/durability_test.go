package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
)

// Environment of a child daemon: the test binary runs one, instead of the
// tests, when envChildDataDir is set (see TestMain).
const (
	envChildDataDir = "PAVE_TEST_CHILD_DATA_DIR"
	envChildCache   = "PAVE_TEST_CHILD_CACHE_DIR"
	// envSoakCycles sets the kill/restart cycles of TestKillDuringAsyncWork
	// (make soak sets 20).
	envSoakCycles = "PAVE_SOAK_CYCLES"
	// envChildNATS, envChildKeyDir and envChildReplicas put a child on a
	// NATS cluster, with the cluster's keys (see withKeys).
	envChildNATS     = "PAVE_TEST_CHILD_NATS_URL"
	envChildKeyDir   = "PAVE_TEST_CHILD_KEY_DIR"
	envChildReplicas = "PAVE_TEST_CHILD_REPLICAS"
)

// childAckWait is how soon a child redelivers the work of a killed one.
const childAckWait = 2 * time.Second

// runChildDaemon runs a daemon on the data directory the environment names
// and prints "READY <gateway URL> <admin URL>" once it serves. It never
// returns: the test kills it, or it exits when the test does.
func runChildDaemon(dataDir string) {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.GatewayAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CacheDir = os.Getenv(envChildCache)
	cfg.CompileBeforeServing = true // as start does
	cfg.Async.AckWait = childAckWait
	if url := os.Getenv(envChildNATS); url != "" {
		withKeys(url, os.Getenv(envChildKeyDir))(&cfg)
		cfg.Replicas, _ = strconv.Atoi(os.Getenv(envChildReplicas))
	}
	logFile, err := os.OpenFile(filepath.Join(dataDir, "child.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Println("FAILED", err)
		os.Exit(2)
	}
	d, err := daemon.New(cfg, slog.New(slog.NewJSONHandler(logFile, nil)))
	if err == nil {
		err = d.Start(context.Background())
	}
	if err != nil {
		fmt.Println("FAILED", err)
		os.Exit(2)
	}
	fmt.Println("READY", d.GatewayURL(), d.AdminURL())
	// The test holds the other end of stdin: when it ends, however it
	// ends, so does this process.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// child is a daemon in another process.
type child struct {
	cmd     *exec.Cmd
	gateway string
	admin   *client.Client
}

func startChild(t *testing.T, dataDir string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildDataDir+"="+dataDir, envChildCache+"="+sharedCache)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	// A pipe the child reads until it closes, which happens when this
	// test process exits, even if it is killed.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && (f[0] == "READY" || f[0] == "FAILED") {
				ready <- f
				return
			}
		}
		ready <- nil
	}()
	var f []string
	select {
	case f = <-ready:
	case <-time.After(2 * time.Minute):
		t.Fatal("the child daemon did not start within 2 minutes")
	}
	if len(f) != 3 || f[0] != "READY" {
		t.Fatalf("the child daemon failed: %v", f)
	}
	cfg := config.Default()
	cfg.DataDir = dataDir
	token, err := os.ReadFile(cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	return &child{cmd: cmd, gateway: f[1], admin: client.New(f[2], strings.TrimSpace(string(token)))}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// post sends one request to the child's gateway; err is set when no
// answer came (the child died under it).
func (c *child) post(path string, headers map[string]string, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest("POST", c.gateway+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// accepted is an asynchronous call the child answered 202.
type accepted struct {
	id, token, idem string
}

// TestKillDuringAsyncWork kills the daemon with SIGKILL while asynchronous
// calls and events are in flight, restarts it, and checks that every call
// answered 202 and every event answered 202 is processed or dead-lettered,
// that an idempotency key or event id sent again after a restart names the
// same work, and that no work ran more often than its call record counts
// attempts (a run is repeated only when a kill interrupted it).
func TestKillDuringAsyncWork(t *testing.T) {
	t.Parallel()
	cycles := 3
	if s := os.Getenv(envSoakCycles); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envSoakCycles, s)
		}
		cycles = n
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	ctx := context.Background()
	digest, err := c.admin.PutBlob(ctx, testguests.Build(t, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.Deploy(ctx, client.DeployRequest{Manifest: jobsManifest("team-a", "triggers:\n  - topic: jobs.work\n"), ManifestFile: "pave.yaml", Digest: digest}); err != nil {
		t.Fatal(err)
	}
	k, err := c.admin.CreateKey(ctx, client.CreateKeyRequest{Name: "ci", Functions: []string{"jobs"}, Scopes: []string{"publish:jobs.work"}})
	if err != nil {
		t.Fatal(err)
	}
	key := auth(k.Secret)

	var (
		mu     sync.Mutex
		calls  []accepted
		events []string
	)
	seq := 0
	for cycle := 0; cycle <= cycles; cycle++ {
		if cycle > 0 {
			c = startChild(t, dir)
			// Work sent again after the restart is the same work.
			mu.Lock()
			for _, a := range calls {
				if a.idem == "" {
					continue
				}
				h := auth(k.Secret)
				h["Idempotency-Key"] = a.idem
				status, _, body, err := c.post("/async/work?ms=20&id="+a.token, h, "")
				if err != nil || status != 202 || !strings.Contains(string(body), a.id) {
					t.Errorf("cycle %d: resubmitting %s: %d %s %v, want 202 naming %s", cycle, a.idem, status, body, err, a.id)
				}
				break // one per cycle is enough to show it
			}
			if len(events) > 0 {
				if status, _, _, err := c.post("/events/jobs.work", eventHeaders(key, events[0]), `{}`); err != nil || status != 202 {
					t.Errorf("cycle %d: republishing %s: %d %v", cycle, events[0], status, err)
				}
			}
			mu.Unlock()
		}
		if cycle == cycles {
			break // the last start only finishes the work
		}
		// Load from four clients until the kill.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					n := seq
					mu.Unlock()
					token := fmt.Sprintf("c%d-%d", cycle, n)
					if n%3 == 0 {
						status, _, _, err := c.post("/events/jobs.work", eventHeaders(key, token), `{"n":1}`)
						if err != nil {
							return
						}
						if status == 202 {
							mu.Lock()
							events = append(events, token)
							mu.Unlock()
						}
						continue
					}
					h := auth(k.Secret)
					idem := ""
					if n%2 == 0 {
						idem = "idem-" + token
						h["Idempotency-Key"] = idem
					}
					status, _, body, err := c.post("/async/work?ms=20&id="+token, h, "")
					if err != nil {
						return
					}
					if status == 202 {
						id := string(body)
						if i := strings.Index(id, `"id":"`); i >= 0 {
							id = id[i+6 : i+6+32]
						}
						mu.Lock()
						calls = append(calls, accepted{id: id, token: token, idem: idem})
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		c.kill(t)
		close(stop)
		wg.Wait()
	}

	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 || len(events) == 0 {
		t.Fatalf("%d calls and %d events accepted: the load did not run", len(calls), len(events))
	}
	n := &node{t: t, admin: c.admin}
	// check waits for the call to be final, then compares the runs the
	// guest counted with the attempts the record counts.
	dead := 0
	check := func(what, counter, callID string) {
		call := n.finalCall(callID)
		if call.State == "dead" {
			dead++
		}
		if call.State != "succeeded" && call.State != "dead" {
			t.Errorf("%s: final state %s", what, call.State)
		}
		runs, _ := childCount(t, c, k.Secret, counter)
		if call.State == "succeeded" && (runs < 1 || runs > call.Attempts) {
			t.Errorf("%s ran %d times in %d recorded attempts", what, runs, call.Attempts)
		}
	}
	for _, a := range calls {
		check("call "+a.token, "work."+a.token, a.id)
	}
	for _, id := range events {
		deadline := time.Now().Add(time.Minute)
		for {
			runs, callID := childCount(t, c, k.Secret, "event."+id)
			if runs > 0 && callID != "" {
				check("event "+id, "event."+id, callID)
				break
			}
			if deadLettered(t, c, id) {
				dead++
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("event %s accepted but neither delivered nor dead-lettered within a minute", id)
				dumpChildLog(t, dir)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("%d kill/restart cycles: %d calls and %d events accepted; all processed but %d, which were dead-lettered", cycles, len(calls), len(events), dead)
}

func eventHeaders(key map[string]string, id string) map[string]string {
	h := map[string]string{"Authorization": key["Authorization"]}
	h["Ce-Specversion"], h["Ce-Id"], h["Ce-Source"], h["Ce-Type"] = "1.0", id, "/load", "work"
	h["Content-Type"] = "application/json"
	return h
}

// childCount is node.runs against a child daemon.
func childCount(t *testing.T, c *child, key, name string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.gateway+"/count?key="+name, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Count  string `json:"count"`
		CallID string `json:"call_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("count %s: %d %v", name, resp.StatusCode, err)
	}
	runs, _ := strconv.Atoi(v.Count)
	return runs, v.CallID
}

// dumpChildLog logs the warnings and errors of the child daemons, for a
// failure's report.
func dumpChildLog(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "child.log"))
	if err != nil {
		t.Logf("no child log: %v", err)
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "pave is serving") {
			t.Log(line)
		}
	}
}

// deadLettered reports whether the jobs guest's dead letters hold the
// delivery of event id.
func deadLettered(t *testing.T, c *child, id string) bool {
	t.Helper()
	dead, err := c.admin.DeadLetters(context.Background(), "jobs", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		if d.Job.Event == id {
			return true
		}
	}
	return false
}
