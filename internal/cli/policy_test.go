package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPolicies = `policies:
  - name: public-routes-need-contract
    each: route
    expression: "!route.public || (route.schema && route.rate_limited)"
    message: public routes need an input contract and a rate limit
  - name: timeout-30s
    expression: manifest.limits.timeout <= duration("30s")
    message: timeout at most 30s
`

func writePolicyFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPolicyCheckOffline(t *testing.T) {
	dir := writeManifests(t, map[string]string{
		"open": "name: open\nowner: team-a\nroutes:\n  - method: POST\n    path: /open\n    public: true\nlimits: {timeout: 60s}\n",
		"safe": "name: safe\nowner: team-a\nroutes:\n  - method: GET\n    path: /safe\n",
	})
	file := writePolicyFile(t, testPolicies)
	env := noDaemon(t)
	stdout, stderr, code := runPave(t, env, "", "policy", "check", "--policy", file, dir)
	if code != 1 || !strings.Contains(stderr, "2 policy violations") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	open := filepath.Join(dir, "open", "pave.yaml")
	for _, want := range []string{
		open + `:4: policy "public-routes-need-contract": route POST /open: public routes need an input contract and a rate limit`,
		open + `:7: policy "timeout-30s": limits.timeout 1m0s: timeout at most 30s`,
	} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "safe") {
		t.Errorf("the compliant function is reported:\n%s", stdout)
	}
	if _, stderr, code = runPave(t, env, "", "policy", "check", "--policy", file, filepath.Join(dir, "safe")); code != 0 || !strings.Contains(stderr, "no violation") {
		t.Errorf("compliant directory: exit %d, %s", code, stderr)
	}

	// A policy file that does not compile is refused with its line and
	// CEL's column.
	bad := writePolicyFile(t, "policies:\n  - name: r\n    expression: manifest.limits.timout > duration('1s')\n    message: m\n")
	if _, stderr, code = runPave(t, env, "", "policy", "check", "--policy", bad, dir); code != 1 ||
		!strings.Contains(stderr, bad+`:3:`) || !strings.Contains(stderr, `policy "r": expression 1:16: undefined field 'timout'`) {
		t.Errorf("bad policy file: exit %d, %s", code, stderr)
	}

	// posture --offline --policy reports the same violations as findings.
	stdout, stderr, code = runPave(t, env, "", "posture", "--offline", dir, "--policy", file, "--format", "sarif", "--fail-on", "high")
	if code != 1 || strings.Count(stdout, `"ruleId": "PAVE-POLICY"`) != 2 {
		t.Errorf("posture --policy: exit %d, %s\n%s", code, stderr, stdout)
	}
	if _, stderr, code = runPave(t, env, "", "posture", "--policy", file); code != 2 || !strings.Contains(stderr, "--policy goes with --offline") {
		t.Errorf("posture --policy without --offline: exit %d, %s", code, stderr)
	}
}
