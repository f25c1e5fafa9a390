package daemon_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/functest"
	"github.com/pave-dev/pave/internal/scaffold"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestNewProjects scaffolds every template in C and Rust as pave new
// does, builds each as its project says, deploys it and calls it: the
// route of http and webhook, an event published to topic's topic, and
// schedule run by hand (pave invoke). Go, JavaScript and TypeScript are in
// TestNewProjectsGoAndJavaScript, run without the race detector, under
// which compiling each new Go module to machine code takes over a minute
// (the testguests' modules are precompiled; these are new).
func TestNewProjects(t *testing.T) {
	for _, lang := range []string{"c", "rust"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testNewProjects(t, lang)
		})
	}
}

func testNewProjects(t *testing.T, lang string) {
	n := start(t, "")
	ctx := context.Background()
	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	hookSecret := hex.EncodeToString(raw)
	if err := os.WriteFile(secretFile, []byte(hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range scaffold.Templates {
		start := time.Now()
		name := lang + "-" + tmpl
		dir := filepath.Join(t.TempDir(), name)
		if _, err := scaffold.Write(dir, scaffold.Options{Name: name, Lang: lang, Template: tmpl, Owner: "team-a", SecretFile: secretFile}); err != nil {
			t.Fatal(err)
		}
		wasm, m := testguests.Project(t, dir)
		built := time.Since(start)
		text, err := os.ReadFile(filepath.Join(dir, "pave.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		n.deploy(string(text), wasm)
		deployed := time.Since(start)
		// pave test's cases pass on the module the daemon runs: every
		// template's in C and Rust, and http's alone in JavaScript, where
		// compiling the engine once more takes seconds.
		if lang == "c" || lang == "rust" || (lang != "go" && tmpl == "http") {
			fx, err := os.ReadFile(filepath.Join(dir, scaffold.TestFile))
			if err != nil {
				t.Fatal(err)
			}
			cases, err := functest.ParseFixture(scaffold.TestFile, fx)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if failed, err := functest.Run(ctx, m, wasm, cases, sharedCache, &out); err != nil || failed > 0 {
				t.Errorf("%s: pave test's cases: %d failed, %v\n%s", name, failed, err, out.String())
			}
		}
		tested := time.Since(start)
		switch tmpl {
		case "http":
			key := n.key(name+"-client", name)
			h := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
			if r := n.send("POST", "/"+name, h, []byte(`{"name":"Ada"}`)); r.status != 200 || string(r.body) != `{"message":"Hello, Ada!"}`+"\n" {
				t.Errorf("%s: %d %q", name, r.status, r.body)
			}
			// The input contract: the gateway refuses what the schema does not allow.
			if r := n.send("POST", "/"+name, h, []byte(`{"name":"Ada","admin":true}`)); r.status != 400 {
				t.Errorf("%s with an extra property: %d %q", name, r.status, r.body)
			}
			if r := n.send("POST", "/"+name, map[string]string{"Content-Type": "application/json"}, []byte(`{"name":"Ada"}`)); r.status != 401 {
				t.Errorf("%s without a key: %d %q", name, r.status, r.body)
			}
		case "webhook":
			body := []byte(`{"ref":"refs/heads/main"}`)
			mac := hmac.New(sha256.New, []byte(hookSecret))
			mac.Write(body)
			h := map[string]string{"X-GitHub-Delivery": "d-" + name, "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil)), "Content-Type": "application/json"}
			if r := n.send("POST", "/"+name+"/webhook", h, body); r.status != 202 || string(r.body) != `{"accepted":true}`+"\n" {
				t.Errorf("%s: %d %q", name, r.status, r.body)
			}
			h["X-GitHub-Delivery"] = "d2-" + name
			h["X-Hub-Signature-256"] = "sha256=" + strings.Repeat("0", 64)
			if r := n.send("POST", "/"+name+"/webhook", h, body); r.status != 401 {
				t.Errorf("%s with a bad signature: %d %q", name, r.status, r.body)
			}
		case "topic":
			topic := name + ".events"
			k, err := n.admin.CreateKey(ctx, client.CreateKeyRequest{Name: name + "-publisher", Functions: []string{name}, Scopes: []string{"publish:" + topic}})
			if err != nil {
				t.Fatal(err)
			}
			if r := n.publish(topic, k.Secret, "e-"+name, `{"id":"42"}`); r.status != 202 {
				t.Fatalf("%s: publish: %d %q", name, r.status, r.body)
			}
			deadline := time.Now().Add(60 * time.Second)
			for len(n.logs.lines(map[string]any{"msg": "invocation", "function": name, "route": "topic " + topic, "outcome": "ok"})) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the event did not run within a minute; invocations: %v", name, n.logs.lines(map[string]any{"msg": "invocation", "function": name}))
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "schedule":
			r, err := n.admin.Invoke(ctx, name, client.InvokeRequest{Method: "POST", Path: "/"})
			if err != nil || r.Status != 200 || string(r.Body) != `{"ran":true}`+"\n" {
				t.Errorf("%s: pave invoke: %v %+v", name, err, r)
			}
		}
		t.Logf("%s: built at %s, deployed at %s, pave test's cases done at %s, calls done at %s", name,
			built.Round(time.Millisecond), deployed.Round(time.Millisecond), tested.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}
