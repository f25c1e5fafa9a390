package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/cli"
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

// The offline check of a function's directory finds what the daemon finds
// in the same function deployed: the same module findings, with the same
// severities.
func TestPostureOfflineAgreesWithTheDaemon(t *testing.T) {
	t.Parallel()
	osv := osvEverything(t)
	n := startWith(t, func(c *config.Config) { c.Observability.OSVFile = osv })
	text := manifestFor("hello", "  - method: GET\n    path: /hello\n", "")
	module := testguests.Example(t, "hello")
	n.deploy(text, module)
	b, err := n.admin.Posture(context.Background(), "json")
	if err != nil {
		t.Fatal(err)
	}
	daemonFindings := moduleFindingsOf(t, b)

	dir := t.TempDir()
	fn := filepath.Join(dir, "hello")
	if err := os.MkdirAll(filepath.Join(fn, ".pave"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fn, "pave.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Where pave build leaves the module.
	if err := os.WriteFile(filepath.Join(fn, ".pave", "hello.wasm"), module, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"posture", "--offline", dir, "--osv", osv, "--format", "json"}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("pave posture --offline: exit %d: %s", code, stderr.String())
	}
	offline := moduleFindingsOf(t, stdout.Bytes())
	if len(daemonFindings) == 0 || !slices.Equal(daemonFindings, offline) {
		t.Fatalf("module findings\ndaemon:  %v\noffline: %v", daemonFindings, offline)
	}
}

// A daemon reads its --osv-file again when it changes: no restart is needed
// for a new database.
func TestPostureReloadsTheOSVDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "osv.json")
	if err := os.WriteFile(path, []byte(`[]`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, func(c *config.Config) { c.Observability.OSVFile = path })
	n.deploy(manifestFor("hello", "  - method: GET\n    path: /hello\n", ""), testguests.Example(t, "hello"))
	report := func() string {
		b, err := n.admin.Posture(context.Background(), "json")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if r := report(); strings.Contains(r, "PAVE-VULNERABLE-DEPENDENCY") {
		t.Fatalf("an empty database finds something: %s", r)
	}
	everything, err := os.ReadFile(osvEverything(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, everything, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second) // a new modification time, whatever the clock's resolution
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if r := report(); !strings.Contains(r, "GO-TEST-ALL") {
		t.Fatalf("the new database is not used: %s", r)
	}
}

// The daemon's SARIF names each manifest as pave deploy sent it, relative
// to the repository root, and never as a local absolute path, whatever an
// older client sent.
func TestPostureSARIFPaths(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	digest, err := n.admin.PutBlob(ctx, testguests.Example(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"pub": "functions/pub/pave.yaml", "old": "/home/me/functions/old/pave.yaml"} {
		_, err := n.admin.Deploy(ctx, client.DeployRequest{
			Manifest: manifestFor(name, "  - method: GET\n    path: /"+name+"\n    public: true\n", ""), ManifestFile: file, Digest: digest})
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := n.admin.Posture(ctx, "sarif")
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Properties struct {
					Function string `json:"function"`
				} `json:"properties"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("%v: %s", err, b)
	}
	want := map[string]string{"pub": "functions/pub/pave.yaml", "old": "old/pave.yaml"}
	seen := 0
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		if w, ok := want[r.Properties.Function]; ok {
			seen++
			if loc.ArtifactLocation.URI != w || loc.Region.StartLine < 1 {
				t.Errorf("%s at %+v, want %s", r.Properties.Function, loc, w)
			}
		}
	}
	if seen < 2 {
		t.Fatalf("%d results of the two functions: %s", seen, b)
	}
}

// moduleFindingsOf returns the module rules' findings of a JSON posture
// report as "rule subject severity", sorted.
func moduleFindingsOf(t *testing.T, report []byte) []string {
	t.Helper()
	var rep struct {
		Findings []struct{ Rule, Subject, Severity string } `json:"findings"`
	}
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatalf("%s: %v", report, err)
	}
	var out []string
	for _, f := range rep.Findings {
		switch f.Rule {
		case "PAVE-VULNERABLE-DEPENDENCY", "PAVE-HARDCODED-SECRET", "PAVE-MODULE-NOT-SCANNED":
			out = append(out, f.Rule+" "+f.Subject+" "+f.Severity)
		}
	}
	slices.Sort(out)
	return out
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
