package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/cli"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestPolicies sets the organisation's policies on a daemon with pave
// policy set, and checks that a deploy that violates them is refused
// naming every rule and route, that one that complies is deployed, that a
// function deployed before the policies is reported by posture, and that
// rules that do not compile are refused with their position.
func TestPolicies(t *testing.T) {
	t.Parallel()
	n := start(t, t.TempDir())
	ctx := context.Background()
	pave := func(args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := cli.Main(append(args, "--data", n.cfg.DataDir), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
		return stdout.String(), stderr.String(), code
	}
	module := testguests.Example(t, "hello")

	// Deployed before any policy: it stays, and posture reports it.
	n.deploy(manifestFor("legacy", "  - {method: GET, path: /legacy, public: true}\n", ""), module)

	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := write("bad.yaml", "policies:\n  - name: timeout-30s\n    expression: manifest.limits.timout <= duration('30s')\n    message: timeout at most 30s\n")
	if _, stderr, code := pave("policy", "set", bad); code != 1 || !strings.Contains(stderr, bad+":3:") ||
		!strings.Contains(stderr, `policy "timeout-30s": expression 1:16: undefined field 'timout'`) {
		t.Errorf("pave policy set with a bad file: exit %d, %s", code, stderr)
	}
	// The daemon compiles the rules itself: what the CLI would have
	// caught is refused over the API too, and nothing changes.
	_, err := n.admin.SetPolicies(ctx, []client.Policy{{Name: "timeout-30s", Expression: "manifest.limits.timout <= duration('30s')", Message: "m"}})
	if !isCode(err, "invalid_policy") || !strings.Contains(err.Error(), `policies[0].expression: policy "timeout-30s": expression 1:16: undefined field 'timout'`) {
		t.Errorf("SetPolicies with a bad rule: %v", err)
	}

	good := write("policies.yaml", `policies:
  - name: public-routes-need-contract
    each: route
    expression: "!route.public || (route.schema && route.rate_limited)"
    message: public routes need an input contract and a rate limit
  - name: timeout-30s
    expression: manifest.limits.timeout <= duration("30s")
    message: timeout at most 30s
`)
	if stdout, stderr, code := pave("policy", "set", good); code != 0 || !strings.Contains(stdout, "set 2 policies: public-routes-need-contract, timeout-30s") {
		t.Fatalf("pave policy set: exit %d, %s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := pave("policy", "ls"); code != 0 || !strings.Contains(stdout, "public-routes-need-contract  route") || !strings.Contains(stdout, "timeout-30s") {
		t.Errorf("pave policy ls: exit %d, %s%s", code, stdout, stderr)
	}

	// A function that violates both rules is refused, every violation
	// named; one that complies is deployed.
	_, err = n.tryDeploy(manifestFor("breaks", "  - {method: GET, path: /breaks, public: true}\n  - {method: GET, path: /breaks/closed}\n", "  timeout: 45s\n"), module)
	for _, want := range []string{
		`function "breaks" violates the organisation's policies`,
		`policy "public-routes-need-contract": route GET /breaks: public routes need an input contract and a rate limit`,
		`policy "timeout-30s": limits.timeout 45s: timeout at most 30s`,
	} {
		if !isCode(err, "policy_refused") || !strings.Contains(err.Error(), want) {
			t.Errorf("deploy of a function that violates the policies: %v; want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "/breaks/closed") {
		t.Errorf("a compliant route is named: %v", err)
	}
	n.deploy(manifestFor("complies", "  - {method: GET, path: /complies}\n", "  timeout: 5s\n"), module)

	// posture lists the violation of the function deployed before.
	b, err := n.admin.Posture(ctx, "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []struct{ Rule, Function, Subject, Evidence string }
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range rep.Findings {
		if f.Rule == "PAVE-POLICY" {
			found = append(found, f.Function+": "+f.Evidence)
		}
	}
	if want := `legacy: policy "public-routes-need-contract": route GET /legacy: public routes need an input contract and a rate limit`; len(found) != 1 || found[0] != want {
		t.Errorf("PAVE-POLICY findings %q, want %q", found, want)
	}

	// Every change and refusal is audited.
	var outcomes []string
	for _, e := range n.auditEvents(t) {
		switch {
		case e.Action == "policies.set":
			outcomes = append(outcomes, e.Action+" "+e.Outcome+" "+e.Details["reason"])
		case e.Action == "function.deploy" && e.Outcome != "ok":
			outcomes = append(outcomes, e.Action+" "+e.Outcome+" "+e.Details["reason"]+" "+e.Target)
		}
	}
	want := []string{"policies.set denied invalid_policy", "policies.set ok ", "function.deploy denied policy_refused function:breaks"}
	if strings.Join(outcomes, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit events:\n%s\nwant:\n%s", strings.Join(outcomes, "\n"), strings.Join(want, "\n"))
	}
}
