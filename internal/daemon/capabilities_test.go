package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/testguests"
)

// capabilitiesManifest is the capabilities guest's own pave.yaml, with its
// name and owner replaced.
func capabilitiesManifest(t *testing.T, name, owner string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "testguests", "testdata", "capabilities", "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "name: capabilities", "name: "+name, 1)
	s = strings.Replace(s, "owner: testguests", "owner: "+owner, 1)
	if name != "capabilities" {
		// Routes are global: give the second function its own.
		s = strings.ReplaceAll(s, "path: /", "path: /"+name+"/")
	}
	return s
}

type capAnswer struct {
	Value    string   `json:"value"`
	Revision uint64   `json:"revision"`
	Keys     []string `json:"keys"`
	Error    string   `json:"error"`
	Message  string   `json:"message"`
}

func (n *node) capCall(method, path, key, body string) capAnswer {
	n.t.Helper()
	r := n.call(method, path, key, []byte(body))
	if r.status != 200 {
		n.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	var a capAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		n.t.Fatalf("%s %s: %s is not JSON: %v", method, path, r.body, err)
	}
	return a
}

// TestKVCapability drives the key-value capability through a real guest:
// granted buckets work, ungranted uses are denied and audited, and another
// owner's bucket of the same name is a different store.
func TestKVCapability(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	wasm := testguests.Build(t, "capabilities")
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), wasm)
	n.deploy(capabilitiesManifest(t, "rival", "team-b"), wasm)
	key := n.key("ci", "capabilities", "rival")

	a := n.capCall("POST", "/kv/cas?bucket=notes&key=n/1&rev=0", key, "first")
	if a.Error != "" || a.Revision == 0 {
		t.Fatalf("create: %+v", a)
	}
	if a := n.capCall("POST", "/kv/cas?bucket=notes&key=n/1&rev=0", key, "again"); a.Error != "conflict" {
		t.Errorf("second create: %+v", a)
	}
	if b := n.capCall("POST", "/kv/cas?bucket=notes&key=n/1&rev="+jsonNumber(a.Revision), key, "second"); b.Error != "" {
		t.Errorf("update at the current revision: %+v", b)
	}
	if a := n.capCall("GET", "/kv/get?bucket=notes&key=n/1", key, ""); a.Value != "second" {
		t.Errorf("get: %+v", a)
	}
	n.capCall("POST", "/kv/put?bucket=notes&key=n/2", key, "x")
	if a := n.capCall("GET", "/kv/list?bucket=notes&prefix=n/", key, ""); strings.Join(a.Keys, ",") != "n/1,n/2" {
		t.Errorf("list: %+v", a)
	}
	n.capCall("DELETE", "/kv/del?bucket=notes&key=n/2", key, "")
	if a := n.capCall("GET", "/kv/get?bucket=notes&key=n/2", key, ""); a.Error != "not_found" {
		t.Errorf("deleted key: %+v", a)
	}

	for _, tt := range []struct{ method, path string }{
		{"POST", "/kv/put?bucket=prices&key=p"},    // read-only grant
		{"GET", "/kv/get?bucket=secrets&key=k"},    // no grant
		{"GET", "/kv/list?bucket=payroll&prefix="}, // no grant
	} {
		if a := n.capCall(tt.method, tt.path, key, "v"); a.Error != "denied" {
			t.Errorf("%s %s: %+v, want denied", tt.method, tt.path, a)
		}
	}
	if lines := n.logs.lines(map[string]any{"msg": "capability denied", "function": "capabilities"}); len(lines) != 3 {
		t.Errorf("%d denials audited, want 3", len(lines))
	}

	// team-b's function grants itself a bucket named notes too: it is not
	// team-a's.
	if a := n.capCall("GET", "/rival/kv/get?bucket=notes&key=n/1", key, ""); a.Error != "not_found" {
		t.Errorf("team-b read team-a's notes: %+v", a)
	}
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestSecretsCapability sets a canary secret, lets a granted function read
// it and try to leak it every way it can, and checks that the canary never
// leaves: not in responses, not in error bodies, not in logs. It then
// rotates the master key and checks the secret still opens, and that a
// daemon given the wrong master key fails closed.
func TestSecretsCapability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := start(t, dir)
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	canary := "canary-" + hex.EncodeToString(raw)
	ctx := context.Background()
	if _, err := n.admin.SetSecret(ctx, "GUEST_SECRET", []byte(canary)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.SetSecret(ctx, "OTHER", []byte(canary+"-other")); err != nil {
		t.Fatal(err)
	}
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), testguests.Build(t, "capabilities"))
	key := n.key("ci", "capabilities")

	var bodies []string
	r := n.call("GET", "/secret?name=GUEST_SECRET", key, nil)
	bodies = append(bodies, string(r.body))
	if r.status != 200 || !strings.Contains(string(r.body), "[REDACTED]") {
		t.Errorf("granted secret: %d %s, want the value redacted", r.status, r.body)
	}
	if a := n.capCall("GET", "/secret?name=OTHER", key, ""); a.Error != "denied" {
		t.Errorf("ungranted secret: %+v", a)
	}
	for _, path := range []string{"/secret/log?name=GUEST_SECRET", "/secret/error?name=GUEST_SECRET", "/secret/panic?name=GUEST_SECRET"} {
		r := n.call("GET", path, key, nil)
		bodies = append(bodies, string(r.body))
	}
	list, err := n.admin.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := json.Marshal(list)
	bodies = append(bodies, string(listed))
	for _, b := range bodies {
		if strings.Contains(b, canary) {
			t.Errorf("the canary left in a response: %s", b)
		}
	}
	if strings.Contains(n.logs.String(), canary) {
		t.Error("the canary reached the daemon's log")
	}
	if lines := n.logs.lines(map[string]any{"msg": "secret read", "secret": "GUEST_SECRET"}); len(lines) == 0 {
		t.Error("secret reads are not audited")
	}

	rot, err := n.admin.RotateMaster(ctx)
	if err != nil || rot.Rewrapped != 2 || rot.OldKeyID == rot.NewKeyID {
		t.Fatalf("rotate-master = %+v, %v", rot, err)
	}
	if r := n.call("GET", "/secret?name=GUEST_SECRET", key, nil); !strings.Contains(string(r.body), "[REDACTED]") {
		t.Errorf("after rotation: %s", r.body)
	}

	// Restart with a different master key: the daemon refuses to start,
	// naming both keys, rather than fail every read.
	n.stop()
	wrong := make([]byte, 32)
	_, _ = rand.Read(wrong)
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(wrong)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = startErr(t, dir, func(*config.Config) {})
	if !errors.Is(err, secrets.ErrWrongMasterKey) || !strings.Contains(err.Error(), rot.NewKeyID) || !strings.Contains(err.Error(), masterID(t, base64.StdEncoding.EncodeToString(wrong))) {
		t.Errorf("with the wrong master key: %v", err)
	}
}

// TestHTTPCapability calls out through the http capability: a granted host
// on a network the operator allows answers; loopback is refused when not
// allowed, and so is every host the manifest does not grant.
func TestHTTPCapability(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s %s", r.Method, r.URL.Path)
	}))
	defer backend.Close()
	port := backend.Listener.Addr().(*net.TCPAddr).Port
	manifest := func(name string) string {
		s := capabilitiesManifest(t, name, "team-a")
		return strings.Replace(s, "http: [api.example.test]", fmt.Sprintf("http: [\"localhost:%d\"]", port), 1)
	}
	wasm := testguests.Build(t, "capabilities")

	allowed := startWith(t, func(c *config.Config) { c.Defenses.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	allowed.deploy(manifest("capabilities"), wasm)
	key := allowed.key("ci", "capabilities")
	url := fmt.Sprintf("http://localhost:%d/hello", port)
	r := allowed.call("GET", "/http?url="+url, key, nil)
	if r.status != 200 || !strings.Contains(string(r.body), "backend saw GET /hello") {
		t.Errorf("granted host: %d %s", r.status, r.body)
	}
	for _, target := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", port),   // an address, not the granted name
		"http://api.example.test/",                  // not granted to this copy
		fmt.Sprintf("http://localhost:%d/", port+1), // another port
		"file:///etc/passwd",
	} {
		if a := allowed.capCall("GET", "/http?url="+target, key, ""); a.Error == "" {
			t.Errorf("%s: %+v, want a refusal", target, a)
		}
	}

	// Without the operator's allowance, loopback is refused even when the
	// manifest names it.
	closed := start(t, "")
	closed.deploy(manifest("capabilities"), wasm)
	key = closed.key("ci", "capabilities")
	if a := closed.capCall("GET", "/http?url="+url, key, ""); a.Error != "denied" {
		t.Errorf("loopback without --egress-allow: %+v", a)
	}
	if lines := closed.logs.lines(map[string]any{"msg": "capability denied", "capability": "http"}); len(lines) == 0 {
		t.Error("the refused request is not audited")
	}
}

// TestUnredactedRoute opts one route out of response redaction: its
// response carries the granted secret; the other routes' responses and
// every log line still hide it.
func TestUnredactedRoute(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	canary := "canary-" + hex.EncodeToString(raw)
	if _, err := n.admin.SetSecret(context.Background(), "GUEST_SECRET", []byte(canary)); err != nil {
		t.Fatal(err)
	}
	_, _ = rand.Read(raw)
	other := "other-" + hex.EncodeToString(raw)
	if _, err := n.admin.SetSecret(context.Background(), "OTHER", []byte(other)); err != nil {
		t.Fatal(err)
	}
	m := strings.Replace(capabilitiesManifest(t, "capabilities", "team-a"),
		"    path: /secret\n", "    path: /secret\n    unredacted: the caller is handed the secret on purpose\n", 1)
	m = strings.Replace(m, "    path: /kv/get\n", "    path: /kv/get\n    unredacted: the caller is handed the secret on purpose\n", 1)
	n.deploy(m, testguests.Build(t, "capabilities"))
	key := n.key("ci", "capabilities")
	if a := n.capCall("GET", "/secret?name=GUEST_SECRET", key, ""); a.Value != canary {
		t.Errorf("unredacted route answered %+v", a)
	}
	// The opt-out covers the function's own secrets, not another's value
	// that reached it.
	n.capCall("POST", "/kv/put?bucket=notes&key=k", key, canary+" "+other)
	if a := n.capCall("GET", "/kv/get?bucket=notes&key=k", key, ""); a.Value != canary+" [REDACTED]" {
		t.Errorf("unredacted route answered %+v, want its own secret and another's redacted", a)
	}
	if r := n.call("GET", "/secret/error?name=GUEST_SECRET", key, nil); strings.Contains(string(r.body), canary) {
		t.Errorf("a redacted route leaked the secret: %s", r.body)
	}
	n.call("GET", "/secret/log?name=GUEST_SECRET", key, nil)
	if strings.Contains(n.logs.String(), canary) {
		t.Error("the secret reached the log")
	}
}

// hook is a request a test's webhook received.
type hook struct{ path, body string }

// webhook starts a loopback webhook for the test and returns its port and
// the requests it receives.
func webhook(t *testing.T) (int, <-chan hook) {
	hooks := make(chan hook, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- hook{r.URL.Path, string(b)}
	}))
	t.Cleanup(backend.Close)
	return backend.Listener.Addr().(*net.TCPAddr).Port, hooks
}

// TestNotesExample runs examples/notes, which uses a secret, a bucket and
// an outbound host together: a note is stored and read back, and announced
// to the webhook whose URL (with its token) is the secret; the token never
// reaches a response or the log. Without the secret, notes are stored all
// the same.
func TestNotesExample(t *testing.T) {
	t.Parallel()
	port, hooks := webhook(t)
	text, err := os.ReadFile(filepath.Join("..", "..", "examples", "notes", "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := strings.Replace(string(text), "http: [hooks.slack.com]", fmt.Sprintf("http: [\"localhost:%d\"]", port), 1)

	n := startWith(t, func(c *config.Config) { c.Defenses.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	n.deploy(m, testguests.Example(t, "notes"))
	key := n.key("ci", "notes")
	jsonHeaders := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	post := func() map[string]any {
		t.Helper()
		r := n.send("POST", "/notes", jsonHeaders, []byte(`{"text":"buy milk"}`))
		if r.status != 201 {
			t.Fatalf("POST /notes: %d %s", r.status, r.body)
		}
		return r.json(t)
	}

	a := post()
	if a["announced"] != false || !strings.Contains(fmt.Sprint(a["detail"]), "NOTES_WEBHOOK_URL") {
		t.Errorf("without the secret: %v", a)
	}

	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	token := hex.EncodeToString(raw)
	url := fmt.Sprintf("http://localhost:%d/hook/%s", port, token)
	if _, err := n.admin.SetSecret(context.Background(), "NOTES_WEBHOOK_URL", []byte(url)); err != nil {
		t.Fatal(err)
	}
	a = post()
	id, _ := a["id"].(string)
	if a["announced"] != true || id == "" {
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

	r := n.call("GET", "/notes/"+id, key, nil)
	if r.status != 200 || string(r.body) != `{"text":"buy milk"}` {
		t.Errorf("GET /notes/%s: %d %s", id, r.status, r.body)
	}
	r = n.call("GET", "/notes", key, nil)
	if ids, _ := r.json(t)["ids"].([]any); len(ids) != 2 {
		t.Errorf("GET /notes: %s", r.body)
	}
	if r := n.call("GET", "/notes/0123456789abcdef", key, nil); r.status != 404 {
		t.Errorf("a missing note: %d %s", r.status, r.body)
	}
	if r := n.send("POST", "/notes", jsonHeaders, []byte(`["not", "an object"]`)); r.status != 400 || r.errorCode(t) != "invalid_input" {
		t.Errorf("a body against the schema: %d %s", r.status, r.body)
	}
	if strings.Contains(n.logs.String(), token) {
		t.Error("the webhook token reached the log")
	}
}

// TestStoredSecretsAreRedactedWhereverTheyTravel: a function granted a
// secret writes its value to a bucket; another function of the same owner,
// granted no secret, reads the bucket and returns it. Neither its response,
// its asynchronous result, the log nor the audit log shows the value of
// any stored secret, in any version; a removed secret is no longer one.
func TestStoredSecretsAreRedactedWhereverTheyTravel(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	newCanary := func() string {
		raw := make([]byte, 16)
		_, _ = rand.Read(raw)
		return "canary-" + hex.EncodeToString(raw)
	}
	canary, rotated, other := newCanary(), newCanary(), newCanary()
	setSecret := func(name, value string) {
		t.Helper()
		if _, err := n.admin.SetSecret(ctx, name, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	setSecret("GUEST_SECRET", canary)
	setSecret("OTHER", other) // granted to no function
	wasm := testguests.Build(t, "capabilities")
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), wasm)
	// The reader's module imports the secrets capability, so it is
	// granted one of its own, which is not set.
	reader := strings.Replace(capabilitiesManifest(t, "reader", "team-a"), "secrets: [GUEST_SECRET]", "secrets: [READER_OWN]", 1)
	n.deploy(reader, wasm)
	key := n.key("ci", "capabilities", "reader")
	// The granted function stores the values in its owner's bucket (the
	// test hands them over, as a function that read them would).
	put := func(k, value string) {
		t.Helper()
		if a := n.capCall("POST", "/kv/put?bucket=notes&key="+k, key, value); a.Error != "" {
			t.Fatalf("put %s: %+v", k, a)
		}
	}
	put("plain", canary)
	put("encoded", "x "+base64.StdEncoding.EncodeToString([]byte(other))+" y")

	leaks := func(what string, body []byte, values ...string) {
		t.Helper()
		for _, v := range values {
			if strings.Contains(string(body), v) || strings.Contains(string(body), base64.StdEncoding.EncodeToString([]byte(v))) {
				t.Errorf("%s: a stored secret's value left: %s", what, body)
			}
		}
		if !strings.Contains(string(body), "[REDACTED]") {
			t.Errorf("%s: %s, want the value redacted", what, body)
		}
	}
	for _, k := range []string{"plain", "encoded"} {
		r := n.call("GET", "/reader/kv/get?bucket=notes&key="+k, key, nil)
		leaks("sync response of "+k, r.body, canary, other)
	}

	// The same read, queued: the stored result and its record.
	r := n.send("GET", "/async/reader/kv/get?bucket=notes&key=plain", auth(key), nil)
	if r.status != 202 {
		t.Fatalf("async read: %d %s", r.status, r.body)
	}
	id, _ := r.json(t)["id"].(string)
	c := n.finalCall(id)
	if c.Result == nil {
		t.Fatalf("async read: %+v", c)
	}
	leaks("async result", c.Result.Body, canary)
	if r := n.call("GET", "/async/calls/"+id, key, nil); strings.Contains(string(r.body), base64.StdEncoding.EncodeToString([]byte(canary))) {
		t.Errorf("the call's status carries the value: %s", r.body)
	}

	// A value used as a bucket name is denied: the log line and the audit
	// event name the resource, never the value.
	n.capCall("GET", "/reader/kv/get?bucket="+other+"&key=k", key, "")

	// Rotation: the new value is hidden at once, the old one still.
	setSecret("GUEST_SECRET", rotated)
	put("rotated", rotated+" "+canary)
	leaks("after rotation", n.call("GET", "/reader/kv/get?bucket=notes&key=rotated", key, nil).body, rotated, canary)

	deadline := time.Now().Add(10 * time.Second)
	for denied := false; !denied; {
		events := n.auditEvents(t)
		if text := fmt.Sprint(events); strings.Contains(text, other) {
			t.Fatalf("the audit log carries a value: %s", text)
		}
		for _, e := range events {
			denied = denied || (e.Action == "capability.denied" && strings.Contains(e.Target, "[REDACTED]"))
		}
		if !denied && time.Now().After(deadline) {
			t.Fatalf("the denial is not in the audit log: %v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if log := n.logs.String(); strings.Contains(log, canary) || strings.Contains(log, other) || strings.Contains(log, rotated) {
		t.Error("a stored secret's value reached the daemon's log")
	}

	// Removed, a value is no longer a secret's and passes.
	if err := n.admin.RemoveSecret(ctx, "OTHER"); err != nil {
		t.Fatal(err)
	}
	if r := n.call("GET", "/reader/kv/get?bucket=notes&key=encoded", key, nil); !strings.Contains(string(r.body), base64.StdEncoding.EncodeToString([]byte(other))) {
		t.Errorf("after removing the secret: %s", r.body)
	}
}

// A function that imports capabilities runs from a snapshot like one that
// imports none; its package initialisation, which runs when the snapshot
// is taken, outside any call, is refused the capability it is granted; and
// its calls see clean state and their own grants.
func TestCapabilityGuestsRunFromSnapshots(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	if _, err := n.admin.SetSecret(ctx, "GUEST_SECRET", []byte("snapshot-canary-value")); err != nil {
		t.Fatal(err)
	}
	f := n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), testguests.Build(t, "capabilities"))
	if f.Isolation != "snapshot" {
		t.Fatalf("a function importing secrets, kv and http runs %s: %s", f.Isolation, f.IsolationNote)
	}
	key := n.key("ci", "capabilities")
	r := n.call("GET", "/init", key, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"secret":"denied"`) {
		t.Fatalf("the read during initialisation: %d %s, want denied", r.status, r.body)
	}
	for i := range 3 {
		if a := n.capCall("POST", "/kv/put?bucket=notes&key=k", key, fmt.Sprintf("v%d", i)); a.Error != "" || a.Revision == 0 {
			t.Fatalf("put %d: %+v", i, a)
		}
		if a := n.capCall("GET", "/kv/get?bucket=notes&key=k", key, ""); a.Value != fmt.Sprintf("v%d", i) {
			t.Fatalf("get %d: %+v", i, a)
		}
		if a := n.capCall("GET", "/secret?name=OTHER", key, ""); a.Error != "denied" {
			t.Fatalf("an ungranted secret from a snapshot instance: %+v", a)
		}
	}
}
