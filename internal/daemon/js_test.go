// The JavaScript engine is an 11 MB module of machine code, which wazero
// compiles in seconds but, built with the race detector, in minutes: this
// file is left out of race builds, and make check runs it in a build
// without the detector (see the Makefile's test target). The host code it
// exercises is the one every guest goes through, which the race-enabled
// tests cover with Go guests.

//go:build !race

package daemon_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// readManifest returns the pave.yaml in dir.
func readManifest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceInBundle returns the JavaScript function module with old replaced
// by new in its bundle, the abi.InitSection custom section.
func replaceInBundle(t *testing.T, module []byte, old, new string) []byte {
	t.Helper()
	m, err := wasmbin.Parse(module)
	if err != nil {
		t.Fatal(err)
	}
	name := append([]byte{byte(len(abi.InitSection))}, abi.InitSection...)
	for i, s := range m.Sections {
		if s.ID == wasmbin.SectionCustom && bytes.HasPrefix(s.Body, name) && bytes.Contains(s.Body, []byte(old)) {
			m.Sections[i].Body = bytes.ReplaceAll(s.Body, []byte(old), []byte(new))
			return m.Bytes()
		}
	}
	t.Fatalf("no %q in the module's bundle", old)
	return nil
}

// TestJavaScriptFunctions deploys JavaScript functions through the admin
// API and calls them through the gateway: the TypeScript example, and a
// probe that checks state, failures and logs.
func TestJavaScriptFunctions(t *testing.T) {
	t.Parallel()
	hello := testguests.Example(t, "hello-ts")
	probe := testguests.Build(t, "js-probe")
	n := start(t, "")
	began := time.Now()
	fn := n.deploy(readManifest(t, testguests.ExampleDir(t, "hello-ts")), hello)
	t.Logf("deployed hello-ts (%d bytes) in %s, isolation %q", len(hello), time.Since(began), fn.Isolation)
	n.deploy(readManifest(t, testguests.Dir(t, "js-probe")), probe)
	// A second function on the same engine, with a bundle of its own: its
	// snapshot differs, its compiled module is hello-ts's.
	howdy := replaceInBundle(t, hello, "Hello, ", "Howdy, ")
	manifest := strings.NewReplacer("name: hello-ts", "name: howdy-ts", "path: /hello-ts", "path: /howdy-ts").
		Replace(readManifest(t, testguests.ExampleDir(t, "hello-ts")))
	began = time.Now()
	n.deploy(manifest, howdy)
	t.Logf("deployed howdy-ts, the same engine with another bundle, in %s", time.Since(began))
	key := n.key("js", "hello-ts", "howdy-ts", "js-probe")

	t.Run("hello", func(t *testing.T) {
		for _, tt := range []struct{ query, want string }{
			{"", "Hello, world!\n"},
			{"?name=Ada", "Hello, Ada!\n"},
			{"?name=J%C3%BCrgen", "Hello, Jürgen!\n"},
			{"?name=%0A%0D%09", "Hello, world!\n"},
			{"?name=+Grace+Hopper+", "Hello, Grace Hopper!\n"},
		} {
			r := n.call("GET", "/hello-ts"+tt.query, key, nil)
			if r.status != 200 || string(r.body) != tt.want || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("GET /hello-ts%s = %d %q (%s), want 200 %q", tt.query, r.status, r.body, r.header.Get("Content-Type"), tt.want)
			}
		}
	})

	t.Run("two functions on one engine", func(t *testing.T) {
		for range 2 {
			for path, want := range map[string]string{"/hello-ts": "Hello, Ada!\n", "/howdy-ts": "Howdy, Ada!\n"} {
				if r := n.call("GET", path+"?name=Ada", key, nil); r.status != 200 || string(r.body) != want {
					t.Errorf("GET %s = %d %q, want 200 %q", path, r.status, r.body, want)
				}
			}
		}
	})

	t.Run("echo", func(t *testing.T) {
		body := []byte("\x00\xffbinary body")
		r := n.call("POST", "/js/echo", key, body)
		if r.status != 201 || string(r.body) != string(body) || r.header.Get("X-Method") != "POST" ||
			r.header.Get("X-Params") != `{"what":"echo"}` {
			t.Errorf("echo = %d %q %v", r.status, r.body, r.header)
		}
	})

	t.Run("kv", func(t *testing.T) {
		r := n.call("POST", "/js/kv", key, []byte(`{"id": 42, "item": "tea"}`))
		var got struct {
			Back    map[string]any
			Missing any
			Denied  string
			Keys    []string
		}
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 201 {
			t.Fatalf("kv: %d %q: %v", r.status, r.body, err)
		}
		if got.Back["item"] != "tea" || got.Missing != nil || !strings.Contains(got.Denied, `bucket "other" is not granted`) ||
			len(got.Keys) != 1 || got.Keys[0] != "42" {
			t.Errorf("kv = %s", r.body)
		}
	})

	t.Run("no state between calls", func(t *testing.T) {
		for i := range 5 {
			r := n.call("GET", "/js/count", key, nil)
			var got struct {
				Count, Leaked int
				Seen          []any
				Marked        bool
			}
			if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
				t.Fatalf("call %d: %d %q: %v", i, r.status, r.body, err)
			}
			if got.Count != 1 || got.Leaked != 1 || len(got.Seen) != 1 || got.Marked {
				t.Fatalf("call %d saw the state of earlier calls: %s", i, r.body)
			}
		}
	})

	t.Run("randomness is drawn per call", func(t *testing.T) {
		// The snapshot must not fix crypto randomness: every call
		// reads the host's.
		seen := map[string]bool{}
		for range 3 {
			r := n.call("GET", "/js/uuid", key, nil)
			if r.status != 200 || len(r.body) != 36 || seen[string(r.body)] {
				t.Fatalf("uuid: %d %q, after %v", r.status, r.body, seen)
			}
			seen[string(r.body)] = true
		}
	})

	t.Run("timers", func(t *testing.T) {
		if r := n.call("GET", "/js/timer", key, nil); r.status != 200 || string(r.body) != "waited" {
			t.Errorf("GET /js/timer = %d %q, want 200 waited", r.status, r.body)
		}
	})

	t.Run("failures", func(t *testing.T) {
		for _, tt := range []struct {
			path, code string
			status     int
		}{
			{"/js/throw", "function_failed", 502},
			{"/js/reject", "function_failed", 502},
			{"/js/recurse", "function_failed", 502},
			{"/js/pending", "function_failed", 502},
			{"/js/not-a-response", "function_failed", 502},
			{"/js/loop", "function_timeout", 504},
			{"/js/timer?long=1", "function_timeout", 504},
		} {
			r := n.call("GET", tt.path, key, nil)
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Errorf("GET %s = %d %s, want %d %s", tt.path, r.status, r.body, tt.status, tt.code)
			}
			assertNoLeak(t, r)
			for _, leak := range []string{"detail only the log", "probe.js", "bundle.js", "TypeError", "RangeError"} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("GET %s: the response reveals %q: %s", tt.path, leak, r.body)
				}
			}
		}
		// The function still serves after each failure.
		if r := n.call("GET", "/js/count", key, nil); r.status != 200 {
			t.Errorf("after the failures: %d %s", r.status, r.body)
		}
		// The exception and its stack are in the function's log.
		var logged []string
		for _, l := range n.logs.lines(map[string]any{"source": "guest", "function": "js-probe"}) {
			logged = append(logged, fmt.Sprint(l["msg"]))
		}
		all := strings.Join(logged, "\n")
		for _, want := range []string{
			"uncaught Error: a detail only the log may see\n\tat fetch (bundle.js:",
			"uncaught TypeError: rejected after an await",
			"uncaught RangeError: Maximum call stack size exceeded (10000 nested calls)\n\tat recurse (bundle.js:",
			"fetch returned a promise that never settled",
			"fetch must return a Response (or a promise of one), not just a string",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("the log lacks %q; it has\n%s", want, all)
			}
		}
	})

	t.Run("console", func(t *testing.T) {
		r := n.call("GET", "/js/log", key, nil)
		if r.status != 200 {
			t.Fatalf("log: %d %s", r.status, r.body)
		}
		for _, want := range []struct{ level, msg string }{
			{"INFO", `log line {"n":1}`},
			{"WARN", "warn line"},
			{"ERROR", "Error: error line\n\tat fetch (bundle.js:"},
		} {
			found := false
			for _, l := range n.logs.lines(map[string]any{"source": "guest", "function": "js-probe", "level": want.level}) {
				found = found || strings.HasPrefix(fmt.Sprint(l["msg"]), want.msg)
			}
			if !found {
				t.Errorf("no %s line starting %q in\n%s", want.level, want.msg, n.logs.String())
			}
		}
	})
}

// outcome is how js-probe reports a capability's promise: its value, or
// the error's name, code and message.
type outcome struct {
	Value   json.RawMessage
	Error   string
	Code    string
	Message string
}

// jsCall calls js-probe at path with body as JSON and decodes its outcome.
func jsCall(t *testing.T, n *node, key, path string, body any) (outcome, response) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	method := "GET"
	if b != nil {
		method = "POST"
	}
	r := n.call(method, path, key, b)
	var o outcome
	if err := json.Unmarshal(r.body, &o); err != nil || r.status != 200 {
		t.Fatalf("%s %s = %d %q: %v", method, path, r.status, r.body, err)
	}
	return o, r
}

// TestJavaScriptCapabilities deploys js-probe, granted every capability
// group, and uses and attacks each through the gateway: what the manifest
// grants works as for Go, what it does not grant (a bucket, secret, host,
// function or topic) is refused by the host with a rejection the script
// can read, egress to addresses that are not public is refused even when
// granted, a topic trigger delivers its CloudEvent, and no secret value
// reaches a response or the log.
func TestJavaScriptCapabilities(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Probe"), r.Header.Get("Content-Type"), body))
		mu.Unlock()
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "backend answer")
	}))
	defer backend.Close()
	port := backend.Listener.Addr().(*net.TCPAddr).Port

	probe := testguests.Build(t, "js-probe")
	// Loopback is allowed, so that the granted backend answers; the
	// granted link-local and private addresses are still refused.
	n := startWith(t, func(c *config.Config) { c.Defenses.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	canary := "canary-" + hex.EncodeToString(raw)
	ctx := context.Background()
	for name, value := range map[string]string{"PROBE_SECRET": canary, "OTHER": canary + "-other"} {
		if _, err := n.admin.SetSecret(ctx, name, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	n.deploy(readManifest(t, testguests.Dir(t, "mirror")), testguests.Build(t, "mirror"))
	manifest := strings.Replace(readManifest(t, testguests.Dir(t, "js-probe")),
		"http: [", fmt.Sprintf("http: [\"localhost:%d\", ", port), 1)
	began := time.Now()
	n.deploy(manifest, probe)
	t.Logf("deployed js-probe with every capability group in %s", time.Since(began))
	key := n.key("js", "js-probe")
	var bodies []string

	t.Run("secrets", func(t *testing.T) {
		o, r := jsCall(t, n, key, "/js/secret?name=PROBE_SECRET", nil)
		bodies = append(bodies, string(r.body))
		if !strings.Contains(string(o.Value), "[REDACTED]") {
			t.Errorf("granted secret = %s, want the value redacted", r.body)
		}
		for _, name := range []string{"OTHER", "UNSET"} {
			o, r := jsCall(t, n, key, "/js/secret?name="+name, nil)
			bodies = append(bodies, string(r.body))
			if o.Error != "Error" || o.Code != "denied" || !strings.Contains(o.Message, name) {
				t.Errorf("ungranted secret %s = %s, want a rejection with code denied", name, r.body)
			}
		}
		r = n.call("GET", "/js/secret-throw?name=PROBE_SECRET", key, nil)
		bodies = append(bodies, string(r.body))
		if r.status != 502 {
			t.Errorf("secret-throw = %d %s, want 502", r.status, r.body)
		}
	})

	t.Run("fetch", func(t *testing.T) {
		granted := fmt.Sprintf("http://localhost:%d/in?q=1", port)
		o, r := jsCall(t, n, key, "/js/fetch", map[string]any{"url": granted,
			"init": map[string]any{"method": "PUT", "headers": map[string]string{"X-Probe": "p"}, "body": "ping"}})
		var got struct {
			Status       int
			URL, Backend string
			Body         string
		}
		if err := json.Unmarshal(o.Value, &got); err != nil || got.Status != 202 || got.URL != granted || got.Backend != "yes" || got.Body != "backend answer" {
			t.Errorf("granted fetch = %s: %v", r.body, err)
		}
		mu.Lock()
		if want := "PUT /in?q=1 p text/plain;charset=UTF-8 ping"; len(seen) != 1 || seen[0] != want {
			t.Errorf("the backend saw %q, want %q", seen, want)
		}
		mu.Unlock()
		for _, tt := range []struct{ url, code, reason string }{
			{"http://169.254.169.254/latest/meta-data?token=t0p", "denied", "169.254.169.254"}, // granted, link-local
			{"http://10.1.2.3/private?token=t0p", "denied", "10.1.2.3"},                        // granted, private
			{fmt.Sprintf("http://127.0.0.1:%d/?token=t0p", port), "denied", "not granted"},     // an address, not the granted name
			{fmt.Sprintf("http://localhost:%d/?token=t0p", port+1), "denied", "not granted"},   // another port
			{"http://ungranted.example/?token=t0p", "denied", "not granted"},
			{"file:///etc/passwd", "invalid", "scheme"},
		} {
			o, r := jsCall(t, n, key, "/js/fetch", map[string]any{"url": tt.url})
			if o.Error != "TypeError" || o.Code != tt.code || !strings.Contains(o.Message, tt.reason) {
				t.Errorf("fetch %s = %s, want a TypeError with code %s saying %q", tt.url, r.body, tt.code, tt.reason)
			}
			if strings.Contains(o.Message, "t0p") || strings.Contains(o.Message, "meta-data") || strings.Contains(o.Message, "passwd") {
				t.Errorf("fetch %s: the rejection reveals the URL's path or query: %s", tt.url, o.Message)
			}
		}
		mu.Lock()
		if len(seen) != 1 {
			t.Errorf("refused requests reached the backend: %q", seen)
		}
		mu.Unlock()
	})

	t.Run("invoke", func(t *testing.T) {
		o, r := jsCall(t, n, key, "/js/invoke", map[string]any{"name": "mirror", "path": "/items?q=1", "init": map[string]any{"method": "GET"}})
		var got struct {
			Status int
			Body   string
		}
		var mirrored struct {
			Path     string
			RawQuery string `json:"raw_query"`
		}
		if err := json.Unmarshal(o.Value, &got); err != nil || got.Status != 200 ||
			json.Unmarshal([]byte(got.Body), &mirrored) != nil || mirrored.Path != "/items" || mirrored.RawQuery != "q=1" {
			t.Errorf("invoke mirror = %s", r.body)
		}
		for _, tt := range []struct{ name, code string }{{"hello", "denied"}, {"absent", "not_found"}} {
			o, r := jsCall(t, n, key, "/js/invoke", map[string]any{"name": tt.name, "path": "/"})
			if o.Error != "Error" || o.Code != tt.code {
				t.Errorf("invoke %s = %s, want a rejection with code %s", tt.name, r.body, tt.code)
			}
		}
	})

	t.Run("kv compare-and-swap", func(t *testing.T) {
		r := n.call("GET", "/js/cas?key=counter", key, nil)
		var steps map[string]outcome
		if err := json.Unmarshal(r.body, &steps); err != nil || r.status != 200 {
			t.Fatalf("cas = %d %s: %v", r.status, r.body, err)
		}
		type entry struct {
			Value    any
			Revision float64
		}
		entryOf := func(o outcome) (e entry) { _ = json.Unmarshal(o.Value, &e); return e }
		created, final := steps["create"], entryOf(steps["final"])
		if a := entryOf(steps["absent"]); a.Value != nil || a.Revision != 0 || steps["absent"].Error != "" {
			t.Errorf("absent = %+v", steps["absent"])
		}
		if created.Error != "" || entryOf(steps["read"]).Value != "one" || string(created.Value) != fmt.Sprint(entryOf(steps["read"]).Revision) {
			t.Errorf("create = %+v, read = %+v", created, steps["read"])
		}
		for _, step := range []string{"createAgain", "stale"} {
			if steps[step].Code != "conflict" {
				t.Errorf("%s = %+v, want a conflict", step, steps[step])
			}
		}
		if final.Value != "two" || string(steps["update"].Value) != fmt.Sprint(final.Revision) {
			t.Errorf("update = %+v, final = %+v", steps["update"], final)
		}
		if d := steps["denied"]; d.Code != "denied" || !strings.Contains(d.Message, `bucket "other" is not granted`) {
			t.Errorf("ungranted bucket = %+v", d)
		}
	})

	t.Run("publish and the topic trigger", func(t *testing.T) {
		o, r := jsCall(t, n, key, "/js/publish", map[string]any{"topic": "probe.events", "data": map[string]any{"n": 7}})
		var id string
		if err := json.Unmarshal(o.Value, &id); err != nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
			t.Fatalf("publish = %s: %v", r.body, err)
		}
		o, r = jsCall(t, n, key, "/js/publish", map[string]any{"topic": "other.events", "data": "x"})
		if o.Code != "denied" {
			t.Errorf("ungranted topic = %s", r.body)
		}
		// The trigger's call stores what it received under event-<id>.
		var record struct {
			Event  map[string]any
			CallID string
			Data   map[string]any
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			o, r := jsCall(t, n, key, "/js/kv-get?key=event-"+id, nil)
			if o.Error != "" {
				t.Fatalf("kv-get = %s", r.body)
			}
			if string(o.Value) != "null" {
				if err := json.Unmarshal(o.Value, &record); err != nil {
					t.Fatal(err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the topic trigger did not deliver the event")
			}
			time.Sleep(200 * time.Millisecond)
		}
		ev := record.Event
		if ev["topic"] != "probe.events" || ev["id"] != id || ev["type"] != "probe.events" || ev["source"] != "/functions/js-probe" ||
			ev["specversion"] != "1.0" || ev["datacontenttype"] != "application/json" || ev["time"] == nil ||
			len(record.CallID) != 32 || record.Data["n"] != float64(7) {
			t.Errorf("the trigger received %+v", record)
		}
	})

	for _, b := range bodies {
		if strings.Contains(b, canary) {
			t.Errorf("a secret's value left in a response: %s", b)
		}
	}
	if strings.Contains(n.logs.String(), canary) {
		t.Error("a secret's value reached the daemon's log")
	}
	if lines := n.logs.lines(map[string]any{"source": "guest", "function": "js-probe", "msg": "read the secret: {\"value\":\"[REDACTED]\"}"}); len(lines) != 1 {
		t.Errorf("the console line with the secret is not in the log, redacted:\n%s", n.logs.String())
	}
}

// TestJavaScriptExamples deploys the TypeScript examples beside their Go
// twins and calls both the same way: the same answers, status codes and
// stored notes (the twins share the bucket notes), and the same posture,
// graph, logs and budgets.
func TestJavaScriptExamples(t *testing.T) {
	t.Parallel()
	names := []string{"echo", "echo-ts", "notes", "notes-ts"}
	modules := map[string][]byte{}
	for _, name := range names {
		modules[name] = testguests.Example(t, name)
	}
	n := start(t, "")
	for _, name := range names {
		began := time.Now()
		n.deploy(readManifest(t, testguests.ExampleDir(t, name)), modules[name])
		t.Logf("deployed %s in %s", name, time.Since(began))
	}
	key := n.key("twins", names...)
	jsonHeaders := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}

	t.Run("echo", func(t *testing.T) {
		type reply struct {
			Received  json.RawMessage `json:"received"`
			Method    string          `json:"method"`
			Path      string          `json:"path"`
			RequestID string          `json:"request_id"`
			Caller    string          `json:"caller"`
		}
		for _, body := range []string{
			`{"a": [1, 2.50, 1e3, 12345678901234567890], "b": {"c": null, "d": "\u00e9\"\\ x"}}`,
			" \"s\" ", `true`, `[]`, `not json`, ``, `{"a":`,
		} {
			var got [2]response
			var replies [2]reply
			for i, path := range []string{"/echo", "/echo-ts"} {
				got[i] = n.call("POST", path, key, []byte(body))
				r := got[i]
				if r.header.Get("Content-Type") != "application/json" || !bytes.HasSuffix(r.body, []byte("\n")) {
					t.Errorf("POST %s %q: %s %q", path, body, r.header.Get("Content-Type"), r.body)
				}
				if r.status != 200 {
					continue
				}
				if err := json.Unmarshal(r.body, &replies[i]); err != nil {
					t.Fatalf("POST %s %q: %s: %v", path, body, r.body, err)
				}
				if rp := replies[i]; rp.Path != path || rp.RequestID != r.header.Get("X-Request-Id") || rp.Method != "POST" || rp.Caller == "" {
					t.Errorf("POST %s %q = %s (X-Request-Id %s)", path, body, r.body, r.header.Get("X-Request-Id"))
				}
			}
			if got[0].status != got[1].status {
				t.Errorf("POST %q: echo %d %s, echo-ts %d %s", body, got[0].status, got[0].body, got[1].status, got[1].body)
				continue
			}
			if got[0].status != 200 {
				if !bytes.Equal(got[0].body, got[1].body) {
					t.Errorf("POST %q: echo %s, echo-ts %s", body, got[0].body, got[1].body)
				}
				continue
			}
			if g, ts := replies[0], replies[1]; !bytes.Equal(g.Received, ts.Received) || g.Caller != ts.Caller {
				t.Errorf("POST %q: echo %s, echo-ts %s", body, got[0].body, got[1].body)
			}
		}
	})

	t.Run("notes", func(t *testing.T) {
		post := func(path, body string) string {
			t.Helper()
			r := n.send("POST", path, jsonHeaders, []byte(body))
			a := r.json(t)
			id, _ := a["id"].(string)
			if r.status != 201 || len(id) != 16 || a["announced"] != false || a["detail"] == "" {
				t.Fatalf("POST %s: %d %s", path, r.status, r.body)
			}
			return id
		}
		fromTS := post("/notes-ts", `{"text": "buy milk", "a": [1, {"b": 2}]}`)
		fromGo := post("/notes", `{"z": 1, "a": "tea"}`)
		// Each reads the other's note, stored the same way: compact,
		// keys sorted.
		for _, tt := range []struct{ id, want string }{
			{fromTS, `{"a":[1,{"b":2}],"text":"buy milk"}`},
			{fromGo, `{"a":"tea","z":1}`},
		} {
			for _, prefix := range []string{"/notes/", "/notes-ts/"} {
				r := n.call("GET", prefix+tt.id, key, nil)
				if r.status != 200 || string(r.body) != tt.want || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("GET %s%s = %d %q (%s), want %s", prefix, tt.id, r.status, r.body, r.header.Get("Content-Type"), tt.want)
				}
			}
		}
		ids := map[string]string{}
		for _, path := range []string{"/notes", "/notes-ts"} {
			r := n.call("GET", path, key, nil)
			ids[path] = string(r.body)
			var got struct{ IDs []string }
			if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || len(got.IDs) != 2 {
				t.Errorf("GET %s = %d %s", path, r.status, r.body)
			}
		}
		if ids["/notes"] != ids["/notes-ts"] {
			t.Errorf("the twins list %s and %s", ids["/notes"], ids["/notes-ts"])
		}
		var props []string
		for i := range 33 {
			props = append(props, fmt.Sprintf(`"k%d": %d`, i, i))
		}
		tooManyProperties := "{" + strings.Join(props, ", ") + "}"
		for _, tt := range []struct {
			method, path, body string
			status             int
		}{
			{"GET", "/0123456789abcdef", "", 404},
			{"GET", "/not-an-id", "", 404},
			{"POST", "", `["not", "an object"]`, 400},
			{"POST", "", `not json`, 400},
			{"POST", "", tooManyProperties, 400},
		} {
			var got [2]response
			for i, prefix := range []string{"/notes", "/notes-ts"} {
				got[i] = n.send(tt.method, prefix+tt.path, jsonHeaders, []byte(tt.body))
			}
			// A body the schema refuses is the gateway's answer, with the
			// request's own id: compare the codes.
			g, ts := got[0], got[1]
			same := g.status == tt.status && ts.status == tt.status
			if same && g.status == 404 {
				same = string(g.body) == string(ts.body)
			} else if same && g.status == 400 {
				same = g.errorCode(t) == ts.errorCode(t)
			}
			if !same {
				t.Errorf("%s %s %q: notes %d %s, notes-ts %d %s", tt.method, tt.path, tt.body, g.status, g.body, ts.status, ts.body)
			}
		}
	})

	ctx := context.Background()
	t.Run("posture", func(t *testing.T) {
		b, err := n.admin.Posture(ctx, "json")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Functions int `json:"functions"`
			Findings  []struct{ Rule, Function string }
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		rules := map[string][]string{}
		for _, f := range rep.Findings {
			rules[f.Function] = append(rules[f.Function], f.Rule)
		}
		if rep.Functions != len(names) || fmt.Sprint(rules["echo-ts"]) != fmt.Sprint(rules["echo"]) {
			t.Errorf("posture: %s", b)
		}
		for _, r := range rules["notes-ts"] {
			if !slices.Contains(rules["notes"], r) {
				t.Errorf("notes-ts has the finding %s, notes does not: %s", r, b)
			}
		}
	})

	t.Run("graph", func(t *testing.T) {
		raw, err := n.admin.Graph(ctx, "json")
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			Edges []struct{ From, To, Kind string } `json:"edges"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		edges := map[string]bool{}
		for _, e := range g.Edges {
			edges[e.From+" "+e.Kind+" "+e.To] = true
		}
		for _, want := range []string{
			"route:POST /echo-ts route function:echo-ts",
			"route:POST /notes-ts route function:notes-ts",
			"route:GET /notes-ts route function:notes-ts",
			"route:GET /notes-ts/{id} route function:notes-ts",
		} {
			if !edges[want] {
				t.Errorf("the graph lacks %s: %s", want, raw)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		for _, route := range []string{"POST /notes-ts", "GET /notes-ts", "GET /notes-ts/{id}"} {
			lines := n.logs.lines(map[string]any{"msg": "invocation", "function": "notes-ts", "route": route, "outcome": "ok"})
			if len(lines) == 0 {
				t.Errorf("no invocation of %s logged:\n%s", route, n.logs.String())
				continue
			}
			if l := lines[0]; l["request_id"] == "" || l["caller"] == "" || l["memory_bytes"] == 0.0 {
				t.Errorf("an invocation of %s logged as %v", route, l)
			}
		}
	})

	t.Run("budgets", func(t *testing.T) {
		spent := func() int64 {
			t.Helper()
			list, err := n.admin.ListBudgets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range list {
				if b.Subject == "function:echo-ts" && b.Spent != nil {
					return b.Spent.Invocations
				}
			}
			return 0
		}
		before := spent()
		if before == 0 {
			t.Fatal("echo-ts has spent nothing")
		}
		if _, err := n.admin.SetBudget(ctx, "function:echo-ts", client.Budget{Window: "day", Invocations: before + 1}); err != nil {
			t.Fatal(err)
		}
		if r := n.call("POST", "/echo-ts", key, []byte(`{}`)); r.status != 200 {
			t.Fatalf("the last call of the budget: %d %s", r.status, r.body)
		}
		if r := n.call("POST", "/echo-ts", key, []byte(`{}`)); r.status != 429 || r.errorCode(t) != "budget_exhausted" {
			t.Errorf("over the budget: %d %s", r.status, r.body)
		}
		if got := spent(); got != before+1 {
			t.Errorf("spent %d invocations, want %d", got, before+1)
		}
	})
}

// TestJavaScriptNotesAnnounce is TestNotesExample for notes-ts: without the
// secret a note is stored and not announced; with it, the note is
// announced to the webhook the secret names, through env.secret and fetch
// on the http grant, and the webhook's token never reaches the log.
func TestJavaScriptNotesAnnounce(t *testing.T) {
	t.Parallel()
	port, hooks := webhook(t)
	m := strings.Replace(readManifest(t, testguests.ExampleDir(t, "notes-ts")), "http: [hooks.slack.com]", fmt.Sprintf("http: [\"localhost:%d\"]", port), 1)
	if !strings.Contains(m, fmt.Sprintf("localhost:%d", port)) {
		t.Fatalf("the manifest grants no http host to replace:\n%s", m)
	}
	n := startWith(t, func(c *config.Config) { c.Defenses.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	n.deploy(m, testguests.Example(t, "notes-ts"))
	key := n.key("ci", "notes-ts")
	post := func() map[string]any {
		t.Helper()
		r := n.send("POST", "/notes-ts", map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}, []byte(`{"text":"buy milk"}`))
		if r.status != 201 {
			t.Fatalf("POST /notes-ts: %d %s", r.status, r.body)
		}
		return r.json(t)
	}
	if a := post(); a["announced"] != false || !strings.Contains(fmt.Sprint(a["detail"]), "NOTES_WEBHOOK_URL") {
		t.Errorf("without the secret: %v", a)
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	token := hex.EncodeToString(raw)
	if _, err := n.admin.SetSecret(context.Background(), "NOTES_WEBHOOK_URL", []byte(fmt.Sprintf("http://localhost:%d/hook/%s", port, token))); err != nil {
		t.Fatal(err)
	}
	a := post()
	id, _ := a["id"].(string)
	if a["announced"] != true || a["detail"] != "announced" || id == "" {
		t.Fatalf("with the secret: %v", a)
	}
	select {
	case h := <-hooks:
		if h.path != "/hook/"+token || h.body != `{"text":"New note `+id+`"}` {
			t.Errorf("the webhook received %+v", h)
		}
	default:
		t.Error("the webhook received nothing")
	}
	if r := n.call("GET", "/notes-ts/"+id, key, nil); r.status != 200 || string(r.body) != `{"text":"buy milk"}` {
		t.Errorf("GET /notes-ts/%s: %d %s", id, r.status, r.body)
	}
	if strings.Contains(n.logs.String(), token) {
		t.Error("the webhook token reached the log")
	}
}
