package daemon_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// osvEverything writes an OSV file whose one record affects every Go
// release, so that any module is vulnerable by it.
func osvEverything(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osv.json")
	rec := `[{"id":"GO-TEST-ALL","summary":"a record the test wrote","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}]`
	if err := os.WriteFile(path, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPostureReport asks a daemon for its posture: a public route without
// a contract and a module built with a Go release the OSV file lists are
// findings, in JSON and SARIF.
func TestPostureReport(t *testing.T) {
	t.Parallel()
	osv := osvEverything(t)
	n := startWith(t, func(c *config.Config) { c.Observability.OSVFile = osv })
	n.deploy(manifestFor("hello", "  - method: GET\n    path: /hello\n    public: true\n", ""), testguests.Example(t, "hello"))
	ctx := context.Background()
	b, err := n.admin.Posture(ctx, "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Functions int `json:"functions"`
		Findings  []struct {
			Rule, Function, Risk, Evidence string
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		// The daemon's own finding: the test keeps the audit key in the
		// data directory, the default.
		if f.Function != "hello" && (f.Function != "" || f.Rule != "PAVE-AUDIT-KEY-IN-STORE") {
			t.Errorf("a finding %s of %q", f.Rule, f.Function)
		}
		rules[f.Rule] = true
	}
	for _, want := range []string{"PAVE-PUBLIC-ROUTE", "PAVE-PUBLIC-NO-CONTRACT", "PAVE-VULNERABLE-DEPENDENCY", "PAVE-AUDIT-KEY-IN-STORE"} {
		if !rules[want] {
			t.Errorf("no %s in %s", want, b)
		}
	}
	if rep.Functions != 1 {
		t.Errorf("functions = %d", rep.Functions)
	}
	sarif, err := n.admin.Posture(ctx, "sarif")
	if err != nil || !strings.Contains(string(sarif), `"version": "2.1.0"`) || !strings.Contains(string(sarif), "GO-TEST-ALL") {
		t.Errorf("sarif: %v\n%s", err, sarif)
	}
	if _, err := n.admin.Posture(ctx, "xml"); !isCode(err, "bad_request") {
		t.Errorf("an unknown format: %v", err)
	}
}

// An audit key outside the embedded store's data directory is not a
// finding.
func TestAuditKeyOutsideTheStore(t *testing.T) {
	t.Parallel()
	keyDir := t.TempDir()
	n := startWith(t, func(c *config.Config) { c.Observability.AuditKeyFile = filepath.Join(keyDir, "audit.key") })
	b, err := n.admin.Posture(context.Background(), "json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PAVE-AUDIT-KEY-IN-STORE") {
		t.Fatalf("the audit key in %s is reported as in the store: %s", keyDir, b)
	}
	if _, err := os.Stat(filepath.Join(keyDir, "audit.key")); err != nil {
		t.Fatalf("the key is not where --audit-key-file says: %v", err)
	}
}

// TestDeployRefusedByPosture runs a daemon that refuses deploys with high
// findings: a module the OSV file lists is refused with the rule named,
// and nothing is deployed.
func TestDeployRefusedByPosture(t *testing.T) {
	t.Parallel()
	osv := osvEverything(t)
	n := startWith(t, func(c *config.Config) {
		c.Observability.OSVFile = osv
		c.Observability.DeployFailOn = "high"
	})
	_, err := n.tryDeploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	if !isCode(err, "posture_refused") || !strings.Contains(err.Error(), "PAVE-VULNERABLE-DEPENDENCY") || !strings.Contains(err.Error(), "GO-TEST-ALL") {
		t.Fatalf("deploy: %v", err)
	}
	if fns, err := n.admin.ListFunctions(context.Background()); err != nil || len(fns) != 0 {
		t.Errorf("deployed anyway: %v, %v", fns, err)
	}

	// Medium findings alone pass a high threshold.
	m := startWith(t, func(c *config.Config) { c.Observability.DeployFailOn = "high" })
	m.deploy(manifestFor("hello", "  - method: GET\n    path: /hello\n    public: true\n", ""), testguests.Example(t, "hello"))
}
