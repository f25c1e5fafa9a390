package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

func manifestFor(name string, routes string, limits string) string {
	m := fmt.Sprintf("name: %s\nowner: team-test\n", name)
	if routes != "" {
		m += "routes:\n" + routes
	}
	if limits != "" {
		m += "limits:\n" + limits
	}
	return m
}

func route(method, path string) string {
	return fmt.Sprintf("  - method: %s\n    path: %s\n", method, path)
}

func TestHelloThroughTheGateway(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("ci", "hello")

	r := n.call("GET", "/hello", key, nil)
	if r.status != 200 || string(r.body) != "Hello, world!\n" {
		t.Fatalf("GET /hello = %d %q", r.status, r.body)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on a success")
	}
	r = n.call("GET", "/hello?name=pave", key, nil)
	if string(r.body) != "Hello, pave!\n" {
		t.Errorf("GET /hello?name=pave = %q", r.body)
	}

	recs := n.logs.lines(map[string]any{"msg": "invocation", "function": "hello", "status": float64(200)})
	if len(recs) != 2 {
		t.Fatalf("want one invocation log line per call, got %d in\n%s", len(recs), n.logs.String())
	}
	for _, field := range []string{"request_id", "version", "route", "caller", "duration_ms", "memory_bytes", "outcome"} {
		if _, ok := recs[0][field]; !ok {
			t.Errorf("invocation log line lacks %q: %v", field, recs[0])
		}
	}
	if recs[0]["caller"] != "key:ci" {
		t.Errorf("caller = %v, want key:ci", recs[0]["caller"])
	}
}

func TestGatewayRefusals(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	n.deploy(manifestFor("echo", route("POST", "/echo"), "  max_body: 16B\n"), testguests.Example(t, "echo"))
	helloKey := n.key("hello-only", "hello")
	echoKey := n.key("echo-only", "echo")
	revoked := n.key("revoked", "hello")
	if err := n.admin.RevokeKey(context.Background(), "revoked"); err != nil {
		t.Fatal(err)
	}
	expiring, err := n.admin.CreateKey(context.Background(), client.CreateKeyRequest{Name: "short", Functions: []string{"hello"}, ExpiresIn: "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)

	tests := []struct {
		name, method, path, key string
		body                    string
		status                  int
		code                    string
	}{
		{"no key", "GET", "/hello", "", "", 401, "unauthenticated"},
		{"unknown key", "GET", "/hello", "pave_k_" + strings.Repeat("a", 52), "", 401, "unauthenticated"},
		{"malformed header", "GET", "/hello", "not a bearer", "", 401, "unauthenticated"},
		{"key for another function", "GET", "/hello", echoKey, "", 403, "forbidden"},
		{"revoked key", "GET", "/hello", revoked, "", 403, "forbidden"},
		{"expired key", "GET", "/hello", expiring.Secret, "", 403, "forbidden"},
		{"unknown route", "GET", "/nope", helloKey, "", 404, "route_not_found"},
		{"trailing slash", "GET", "/hello/", helloKey, "", 404, "route_not_found"},
		{"dot segment", "GET", "/x/../hello", helloKey, "", 404, "route_not_found"},
		{"wrong method", "DELETE", "/hello", helloKey, "", 405, "method_not_allowed"},
		{"body over max_body", "POST", "/echo", echoKey, `{"a":"0123456789abcdef"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, n.d.GatewayURL()+tt.path, strings.NewReader(tt.body))
			if tt.key == "not a bearer" {
				req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
			} else if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			r := response{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, tt.status, r.body)
			}
			if code := r.errorCode(t); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
			assertNoLeak(t, r)
		})
	}
}

// assertNoLeak fails when a response reveals internals.
func assertNoLeak(t *testing.T, r response) {
	t.Helper()
	if s := r.header.Get("Server"); s != "" {
		t.Errorf("Server header %q reveals the software", s)
	}
	body := string(r.body)
	for _, leak := range []string{"goroutine", ".go:", "/root", "/home", "/tmp", "wazero", "panic", "wasm error", "nats", "pave_k_"} {
		if strings.Contains(strings.ToLower(body), leak) {
			t.Errorf("response body reveals %q: %s", leak, body)
		}
	}
}

func TestAPIKeyIsNotPassedToTheFunction(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	m := "name: sandbox\nowner: o\nroutes:\n  - method: GET\n    path: /private\n  - method: GET\n    path: /open\n    public: true\n"
	n.deploy(m, testguests.Build(t, "sandbox"))
	key := n.key("k", "sandbox")
	tests := []struct {
		name, path, auth string
		wantAuth         bool
	}{
		{"key on an api-key route", "/private", "Bearer " + key, false},
		{"pave key on a public route", "/open", "Bearer " + key, false},
		{"the function's own token on a public route", "/open", "Bearer their-own", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", n.d.GatewayURL()+tt.path, nil)
			req.Header.Set("Authorization", tt.auth)
			req.Header.Set("X-Trace", "kept")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				Headers map[string][]string `json:"headers"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, err)
			}
			if got.Headers["X-Trace"] == nil {
				t.Fatalf("ordinary headers did not reach the function: %v", got.Headers)
			}
			_, ok := got.Headers["Authorization"]
			if ok != tt.wantAuth {
				t.Fatalf("Authorization reached the function: %v, want %v (%v)", ok, tt.wantAuth, got.Headers)
			}
			for _, vs := range got.Headers {
				for _, v := range vs {
					if strings.Contains(v, key) {
						t.Fatal("the API key reached the function")
					}
				}
			}
		})
	}
}

func TestDeployVersionsAndRollback(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	hello, counter := testguests.Example(t, "hello"), testguests.Build(t, "counter")
	m := manifestFor("swap", route("GET", "/swap"), "")
	if f := n.deploy(m, hello); f.Version != 1 || f.Mode != "reactor" || !strings.HasPrefix(f.Digest, "sha256:") {
		t.Fatalf("first deploy: %+v", f)
	}
	key := n.key("k", "swap")
	if r := n.call("GET", "/swap", key, nil); !strings.HasPrefix(string(r.body), "Hello") {
		t.Fatalf("v1 answered %q", r.body)
	}
	if f := n.deploy(m, counter); f.Version != 2 {
		t.Fatalf("second deploy is version %d", f.Version)
	}
	if r := n.call("GET", "/swap", key, nil); !strings.Contains(string(r.body), `"count"`) {
		t.Fatalf("v2 answered %q", r.body)
	}
	f, err := n.admin.Rollback(ctx, "swap", 0)
	if err != nil || f.Version != 1 {
		t.Fatalf("rollback: %v %+v", err, f)
	}
	if r := n.call("GET", "/swap", key, nil); !strings.HasPrefix(string(r.body), "Hello") {
		t.Fatalf("after rollback answered %q", r.body)
	}
	if _, err := n.admin.Rollback(ctx, "swap", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.Rollback(ctx, "swap", 7); err == nil {
		t.Error("rollback to a missing version succeeded")
	}
	got, err := n.admin.GetFunction(ctx, "swap")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || len(got.Versions) != 2 || got.Versions[0].Digest == got.Versions[1].Digest {
		t.Fatalf("get after rollbacks: %+v", got)
	}
	// What runs already, deployed again, is unchanged: no version is added.
	if f := n.deploy(m, counter); f.Version != 2 || !f.Unchanged {
		t.Fatalf("deploy of the active version: %+v", f)
	}
	if got, err := n.admin.GetFunction(ctx, "swap"); err != nil || len(got.Versions) != 2 {
		t.Fatalf("an unchanged deploy added a version: %v %+v", err, got)
	}
	// After a rollback, the same module is stored once and makes version 3.
	if _, err := n.admin.Rollback(ctx, "swap", 1); err != nil {
		t.Fatal(err)
	}
	if f := n.deploy(m, counter); f.Version != 3 || f.Unchanged || f.Digest != got.Versions[1].Digest {
		t.Fatalf("redeploy: %+v", f)
	}
	if err := n.admin.RemoveFunction(ctx, "swap"); err != nil {
		t.Fatal(err)
	}
	if r := n.call("GET", "/swap", key, nil); r.status != 404 {
		t.Fatalf("removed function answered %d", r.status)
	}
	if _, err := n.admin.GetFunction(ctx, "swap"); !client.IsNotFound(err) {
		t.Fatalf("get removed function: %v", err)
	}
}

func TestDeployRefusals(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	tests := []struct {
		name     string
		manifest string
		module   []byte
		code     string
		contains string
	}{
		{"no handle export", manifestFor("noexport", route("GET", "/ne"), ""), testguests.Build(t, "noexport"), "invalid_module", `"handle"`},
		{"ungranted capability", manifestFor("kv", route("GET", "/kv"), ""), testguests.Build(t, "kvimport"), "invalid_module", `"kv" capability`},
		{"not wasm", manifestFor("junk", route("GET", "/junk"), ""), []byte("\x00asm but not really"), "invalid_module", "not a valid WebAssembly module"},
		{"route taken by another function", manifestFor("clash", route("GET", "/hello"), ""), testguests.Build(t, "counter"), "conflict", "hello"},
		{"unknown manifest field", "name: x\nowner: o\nroutes: []\nlimts: {}\n", testguests.Build(t, "counter"), "invalid_manifest", "pave.yaml:4"},
		{"timeout above maximum", manifestFor("slowpoke", "", "  timeout: 901s\n"), testguests.Build(t, "counter"), "invalid_manifest", "limits.timeout"},
		{"memory below the module's needs", manifestFor("tiny", "", "  memory: 1MiB\n"), testguests.Build(t, "counter"), "invalid_module", "memory"},
		{"granted import with the wrong signature", manifestFor("badsig", route("GET", "/badsig"), "") + "capabilities:\n  kv: {notes: write}\n",
			wasmtest.Importing("pave_kv_v1", "get", []byte{0x60, 0x01, 0x7f, 0x01, 0x7f}), "invalid_module", "pave provides pave_kv_v1.get(i32, i32, i32, i32) -> i32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.tryDeploy(tt.manifest, tt.module)
			var apiErr *client.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("deploy succeeded or failed oddly: %v", err)
			}
			if apiErr.Code != tt.code || !strings.Contains(apiErr.Message, tt.contains) {
				t.Fatalf("got %s %q, want %s containing %q", apiErr.Code, apiErr.Message, tt.code, tt.contains)
			}
		})
	}
	fns, err := n.admin.ListFunctions(context.Background())
	if err != nil || len(fns) != 1 {
		t.Fatalf("refused deploys left functions behind: %v %+v", err, fns)
	}
}

func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := start(t, dir)
	m := manifestFor("hello", route("GET", "/hello"), "")
	n.deploy(m, testguests.Example(t, "hello"))
	n.deploy(m+"description: the second version\n", testguests.Example(t, "hello"))
	key := n.key("k", "hello")
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("before restart: %d", r.status)
	}
	token, _ := os.ReadFile(n.cfg.AdminTokenFile())
	n.stop()

	n2 := start(t, dir)
	if again, _ := os.ReadFile(n2.cfg.AdminTokenFile()); !bytes.Equal(token, again) {
		t.Error("restart replaced the admin token")
	}
	if r := n2.call("GET", "/hello", key, nil); r.status != 200 || string(r.body) != "Hello, world!\n" {
		t.Fatalf("after restart: %d %q", r.status, r.body)
	}
	f, err := n2.admin.GetFunction(context.Background(), "hello")
	if err != nil || f.Version != 2 || len(f.Versions) != 2 {
		t.Fatalf("after restart: %v %+v", err, f)
	}
	if f.LastInvoked == nil {
		t.Error("last invocation time was lost")
	}
	keys, err := n2.admin.ListKeys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].Name != "k" {
		t.Fatalf("keys after restart: %v %+v", err, keys)
	}
}

func TestAdminTokenFile(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	st, err := os.Stat(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v, want 0600", st.Mode().Perm())
	}
	token, _ := os.ReadFile(n.cfg.AdminTokenFile())
	if !strings.HasPrefix(string(token), "pave_a_") {
		t.Errorf("admin token lacks its greppable prefix")
	}
	// The token itself is not stored anywhere under the data directory.
	found := grepDir(t, n.cfg.DataDir, strings.TrimSpace(string(token)), n.cfg.AdminTokenFile())
	if found != "" {
		t.Errorf("the admin token is stored in %s", found)
	}
}

func TestCleanStateBetweenInvocations(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("counter", route("GET", "/counter"), "  concurrency: 64\n"), testguests.Build(t, "counter"))
	key := n.key("k", "counter")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				secret := fmt.Sprintf("s-%d-%d", w, i)
				r := n.call("GET", "/counter?secret="+secret, key, nil)
				var got struct {
					Count          int    `json:"count"`
					BufferLen      int    `json:"buffer_len"`
					PreviousSecret string `json:"previous_secret"`
					Secret         string `json:"secret"`
				}
				if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
					errs <- fmt.Errorf("status %d body %q", r.status, r.body)
					continue
				}
				if got.Count != 1 || got.BufferLen != 1024 || got.PreviousSecret != "" || got.Secret != secret {
					errs <- fmt.Errorf("state leaked between invocations: %+v", got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunawayGuestsAreStopped(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("loop", route("GET", "/loop"), "  timeout: 1s\n"), testguests.Build(t, "loop"))
	n.deploy(manifestFor("alloc", route("GET", "/alloc"), "  memory: 32MiB\n"), testguests.Build(t, "alloc"))
	n.deploy(manifestFor("trap", route("GET", "/trap"), ""), testguests.Build(t, "trap"))
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("k", "loop", "alloc", "trap", "hello")

	// While two guests spin until their timeout, others keep being served.
	loopDone := make(chan response, 2)
	began := time.Now()
	for i := 0; i < 2; i++ {
		go func() { loopDone <- n.call("GET", "/loop", key, nil) }()
	}
	served := 0
	for time.Since(began) < 700*time.Millisecond {
		if r := n.call("GET", "/hello", key, nil); r.status == 200 {
			served++
		}
	}
	if served == 0 {
		t.Error("no other invocation was served while guests looped")
	}
	for i := 0; i < 2; i++ {
		r := <-loopDone
		if r.status != 504 || r.errorCode(t) != "function_timeout" {
			t.Fatalf("loop: %d %s", r.status, r.body)
		}
		assertNoLeak(t, r)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("timeout of 1s took %s to stop the guest", took)
	}

	r := n.call("GET", "/alloc", key, nil)
	if r.status != 502 || r.errorCode(t) != "function_out_of_memory" {
		t.Fatalf("alloc: %d %s", r.status, r.body)
	}
	assertNoLeak(t, r)

	for _, mode := range []string{"panic", "unreachable", "error"} {
		r := n.call("GET", "/trap?mode="+mode, key, nil)
		if r.status != 502 || r.errorCode(t) != "function_failed" {
			t.Fatalf("trap %s: %d %s", mode, r.status, r.body)
		}
		assertNoLeak(t, r)
	}
	// The cause is in the log, not in the response.
	if len(n.logs.lines(map[string]any{"msg": "invocation", "function": "trap", "outcome": "function_failed"})) != 3 {
		t.Errorf("trap failures not logged:\n%s", n.logs.String())
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("daemon unhealthy after guest failures: %d", r.status)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", route("GET", "/slow"), "  concurrency: 1\n"), testguests.Build(t, "slow"))
	key := n.key("k", "slow")
	// Three calls that each hold the only slot for two seconds arrive
	// together: one runs, two are refused at once.
	const calls = 3
	results := make(chan response, calls)
	for i := 0; i < calls; i++ {
		go func() { results <- n.call("GET", "/slow?ms=2000", key, nil) }()
	}
	var ok, refused int
	for i := 0; i < calls; i++ {
		r := <-results
		switch r.status {
		case 200:
			ok++
		case 429:
			refused++
			if r.errorCode(t) != "concurrency_limited" || r.header.Get("Retry-After") == "" {
				t.Errorf("refusal without its code or Retry-After: %v %s", r.header, r.body)
			}
		default:
			t.Errorf("unexpected %d %s", r.status, r.body)
		}
	}
	if ok != 1 || refused != calls-1 {
		t.Fatalf("%d served and %d refused, want 1 and %d", ok, refused, calls-1)
	}
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("sandbox", route("GET", "/sandbox"), ""), testguests.Build(t, "sandbox"))
	key := n.key("k", "sandbox")
	var seen []string
	for i := 0; i < 2; i++ {
		r := n.call("GET", "/sandbox", key, nil)
		if r.status != 200 {
			t.Fatalf("sandbox: %d %s", r.status, r.body)
		}
		var got struct {
			Args     []string  `json:"args"`
			Env      []string  `json:"env"`
			ReadFile string    `json:"read_file_err"`
			ReadDir  string    `json:"read_dir_err"`
			Random   string    `json:"random"`
			Now      time.Time `json:"time"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("%s: %v", r.body, err)
		}
		if len(got.Env) != 0 {
			t.Errorf("guest sees environment %v", got.Env)
		}
		if len(got.Args) > 0 {
			t.Errorf("guest sees arguments %v", got.Args)
		}
		if got.ReadFile == "" || got.ReadDir == "" {
			t.Errorf("guest reads the filesystem: %s", r.body)
		}
		if d := time.Since(got.Now); d < -time.Minute || d > time.Minute {
			t.Errorf("guest clock says %v", got.Now)
		}
		seen = append(seen, got.Random)
	}
	if seen[0] == seen[1] || seen[0] == strings.Repeat("0", 32) {
		t.Errorf("guest randomness repeats: %v", seen)
	}
}

func TestWASICommandCompatibility(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	f := n.deploy(manifestFor("upper", route("POST", "/upper"), ""), testguests.Build(t, "cmd-upper"))
	if f.Mode != "wasi-command" {
		t.Fatalf("mode %q", f.Mode)
	}
	key := n.key("k", "upper")
	if r := n.call("POST", "/upper", key, []byte("shout")); r.status != 200 || string(r.body) != "SHOUT" {
		t.Fatalf("upper: %d %q", r.status, r.body)
	}
	if r := n.call("POST", "/upper", key, []byte("fail")); r.status != 502 {
		t.Fatalf("failing command: %d %q", r.status, r.body)
	}
}

func TestPublicRoute(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	m := "name: open\nowner: o\nroutes:\n  - method: GET\n    path: /open\n    public: true\n"
	f := n.deploy(m, testguests.Example(t, "hello"))
	if !f.Public {
		t.Error("function with a public route is not reported public")
	}
	if r := n.call("GET", "/open", "", nil); r.status != 200 {
		t.Fatalf("public route without key: %d %s", r.status, r.body)
	}
}

func TestAdminAPIRequiresToken(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	for _, tc := range []struct{ token string }{{""}, {"pave_a_" + strings.Repeat("b", 52)}} {
		c := client.New(n.d.AdminURL(), tc.token)
		_, err := c.ListFunctions(context.Background())
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != 401 {
			t.Errorf("token %q: %v", tc.token, err)
		}
	}
	if err := client.New(n.d.AdminURL(), "").Health(context.Background()); err != nil {
		t.Errorf("health is public: %v", err)
	}
}

func TestAdminInvoke(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("echo", route("POST", "/echo"), ""), testguests.Example(t, "echo"))
	resp, err := n.admin.Invoke(context.Background(), "echo", client.InvokeRequest{Body: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(resp.Body, &got); err != nil || resp.Status != 200 {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if got["caller"] != "admin" || got["method"] != "POST" || got["path"] != "/echo" {
		t.Errorf("admin invoke saw %v", got)
	}
}

// TestAdminInvokeRoutes checks that the admin API's invoke runs the route
// the gateway would for a method and path, parameters included, and
// refuses one no route of the function has.
func TestAdminInvokeRoutes(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(mirrorManifest, testguests.Build(t, "mirror"))
	ctx := context.Background()
	resp, err := n.admin.Invoke(ctx, "mirror", client.InvokeRequest{Method: "GET", Path: "/users/42"})
	if err != nil || resp.Status != 200 {
		t.Fatalf("invoke: %v %+v", err, resp)
	}
	got := response{status: resp.Status, body: resp.Body}.mirrored(t)
	if got.Route != "/users/{id}" || got.Path != "/users/42" || len(got.Params) != 1 || got.Params[0] != [2]string{"id", "42"} {
		t.Errorf("invoke of GET /users/42 reached %+v", got)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nowhere", 404},
		{"POST", "/users/42", 405},
	} {
		_, err := n.admin.Invoke(ctx, "mirror", client.InvokeRequest{Method: tc.method, Path: tc.path})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != tc.status || !strings.Contains(apiErr.Message, "GET /users/{id}") {
			t.Errorf("%s %s: %v, want %d listing the routes", tc.method, tc.path, err, tc.status)
		}
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("slow", route("GET", "/slow"), "  concurrency: 1\n"), testguests.Build(t, "slow"))
	key := n.key("k", "slow")
	done := make(chan response)
	go func() {
		for {
			// A probe below may hold the slot for a moment.
			if r := n.call("GET", "/slow?ms=2000", key, nil); r.status != 429 {
				done <- r
				return
			}
		}
	}()
	// The call holds the only slot: it has reached the guest.
	if !poll(10*time.Second, func() bool { return n.call("GET", "/slow?ms=0", key, nil).status == 429 }) {
		t.Fatal("the call never reached the guest")
	}
	n.stop()
	if r := <-done; r.status != 200 || strings.TrimSpace(string(r.body)) != "done" {
		t.Fatalf("in-flight call during shutdown: %d %q", r.status, r.body)
	}
}

// grepDir returns the first file under dir, other than skip, containing s.
func grepDir(t *testing.T, dir, s, skip string) string {
	t.Helper()
	var found string
	_ = walkFiles(dir, func(path string, data []byte) {
		if path != skip && found == "" && bytes.Contains(data, []byte(s)) {
			found = path
		}
	})
	return found
}

func TestSecondDaemonOnOneDataDirIsRefused(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	cfg := n.cfg
	cfg.GatewayAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Start(context.Background())
	if err == nil {
		d.Shutdown(context.Background())
		t.Fatal("a second daemon started on a data directory in use")
	}
	if !strings.Contains(err.Error(), "in use by another pave daemon") {
		t.Fatalf("unclear error: %v", err)
	}
	// The first daemon is unharmed and still advertises its admin API.
	if _, err := os.Stat(n.cfg.AdminURLFile()); err != nil {
		t.Errorf("the refused daemon removed the running one's admin.url: %v", err)
	}
	if err := n.admin.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHammerNoInvocationSeesAnother sends 240 invocations, 12 at a time, each
// with its own secret, to a guest that scans its whole linear memory for
// any other invocation's secret before scattering its own through globals,
// maps, retained heap and garbage. internal/runtime's
// TestScannerSeesLeaksWithoutRestore shows the scan finds leaks when state
// is not reset.
func TestHammerNoInvocationSeesAnother(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	f := n.deploy(manifestFor("memscan", route("GET", "/memscan"), "  concurrency: 64\n"), testguests.Build(t, "memscan"))
	if f.Isolation != "snapshot" {
		t.Fatalf("isolation %q", f.Isolation)
	}
	key := n.key("k", "memscan")
	const workers, each = 12, 20
	var wg sync.WaitGroup
	failures := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s := fmt.Sprintf("%016x%016x", w+1, i+1)
				r := n.call("GET", "/memscan?s="+s, key, nil)
				var rep struct {
					Leaked     []string `json:"leaked"`
					Previous   string   `json:"previous"`
					MapEntries int      `json:"map_entries"`
					Kept       int      `json:"kept"`
				}
				if r.status != 200 || json.Unmarshal(r.body, &rep) != nil {
					failures <- fmt.Sprintf("status %d body %.200s", r.status, r.body)
					continue
				}
				if len(rep.Leaked) > 0 || rep.Previous != "" || rep.MapEntries != 0 || rep.Kept != 0 {
					failures <- fmt.Sprintf("invocation %s saw another's state: %+v", s, rep)
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
}

func TestRemovedFunctionsKeysDoNotReachItsSuccessor(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	m := manifestFor("hello", route("GET", "/hello"), "")
	n.deploy(m, testguests.Example(t, "hello"))
	key := n.key("old", "hello")
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("before rm: %d", r.status)
	}
	if err := n.admin.RemoveFunction(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	// Someone else deploys a function of the same name later.
	n.deploy(strings.Replace(m, "team-test", "other-team", 1), testguests.Example(t, "hello"))
	if r := n.call("GET", "/hello", key, nil); r.status != 403 {
		t.Fatalf("the removed function's key called its successor: %d %s", r.status, r.body)
	}
}

// TestKeyUpdate adds a function to a key and removes one: the same secret
// reaches the functions as changed, and the change is audited.
func TestKeyUpdate(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	n.deploy(manifestFor("echo", route("POST", "/echo"), ""), testguests.Example(t, "echo"))
	key := n.key("ci", "hello")
	if r := n.call("POST", "/echo", key, []byte(`{}`)); r.status != 403 {
		t.Fatalf("echo before the update: %d", r.status)
	}
	k, err := n.admin.UpdateKey(ctx, "ci", client.UpdateKeyRequest{AddFunctions: []string{"echo"}, RemoveFunctions: []string{"hello"}})
	if err != nil || !slices.Equal(k.Functions, []string{"echo"}) {
		t.Fatalf("update: %v %+v", err, k)
	}
	if r := n.call("POST", "/echo", key, []byte(`{}`)); r.status != 200 {
		t.Fatalf("echo after the update: %d %s", r.status, r.body)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 403 {
		t.Fatalf("hello after the update: %d", r.status)
	}
	var apiErr *client.Error
	if _, err := n.admin.UpdateKey(ctx, "ci", client.UpdateKeyRequest{AddFunctions: []string{"nope"}}); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("adding a function that is not deployed: %v", err)
	}
	var found bool
	for _, e := range n.auditEvents(t) {
		if e.Action == "key.update" && e.Target == "key:ci" && e.Outcome == "ok" && e.Details["functions"] == "echo" && e.Details["added"] == "echo" && e.Details["removed"] == "hello" {
			found = true
		}
	}
	if !found {
		t.Errorf("no key.update event: %+v", n.auditEvents(t))
	}
}
