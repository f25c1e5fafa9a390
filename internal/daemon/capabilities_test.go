package daemon_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{"POST", "/kv/put?bucket=prices&key=p"},   // read-only grant
		{"GET", "/kv/get?bucket=secrets&key=k"},   // no grant
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
