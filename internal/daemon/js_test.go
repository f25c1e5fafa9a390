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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
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
			}
			if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
				t.Fatalf("call %d: %d %q: %v", i, r.status, r.body, err)
			}
			if got.Count != 1 || got.Leaked != 1 || len(got.Seen) != 1 {
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
