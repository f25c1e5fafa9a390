package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/cli"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// appDir is a directory holding an app file and its functions, all built
// from one prebuilt module.
type appDir struct {
	t   *testing.T
	n   *node
	dir string
	// stdin is what the command reads, "" by default.
	stdin string
}

func newAppDir(t *testing.T, n *node) *appDir {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "counter.wasm"), testguests.Build(t, "counter"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &appDir{t: t, n: n, dir: dir}
}

// function writes the manifest of function name, whose routes and
// capabilities are extra YAML.
func (a *appDir) function(name, extra string) {
	a.t.Helper()
	fdir := filepath.Join(a.dir, name)
	if err := os.MkdirAll(fdir, 0o755); err != nil {
		a.t.Fatal(err)
	}
	m := "name: " + name + "\nowner: shop\nmodule: ../counter.wasm\nroutes:\n  - method: GET\n    path: /" + name + "\n" + extra
	if err := os.WriteFile(filepath.Join(fdir, "pave.yaml"), []byte(m), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

func (a *appDir) file(text string) {
	a.t.Helper()
	if err := os.WriteFile(filepath.Join(a.dir, "pave.app.yaml"), []byte(text), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// pave runs the pave command against the daemon in the app's directory
// and returns its exit status, stdout and stderr.
func (a *appDir) pave(args ...string) (int, string, string) {
	a.t.Helper()
	token, err := os.ReadFile(a.n.cfg.AdminTokenFile())
	if err != nil {
		a.t.Fatal(err)
	}
	env := map[string]string{config.EnvAdminURL: a.n.d.AdminURL(), config.EnvToken: strings.TrimSpace(string(token))}
	var stdout, stderr bytes.Buffer
	args = append(args, filepath.Join(a.dir, "pave.app.yaml"))
	code := cli.Main(args, strings.NewReader(a.stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// report runs a command with --format json and decodes its report.
func (a *appDir) report(wantCode int, args ...string) appReport {
	a.t.Helper()
	code, out, errOut := a.pave(append(args, "--format", "json")...)
	if code != wantCode {
		a.t.Fatalf("pave %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out, errOut)
	}
	var r appReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		a.t.Fatalf("pave %s: %v in\n%s", strings.Join(args, " "), err, out)
	}
	return r
}

type appReport struct {
	Digest  string `json:"digest"`
	Changes []struct {
		Kind, Name, Action string
		Details, Risks     []string
	} `json:"changes"`
	Unpruned int `json:"unpruned"`
	Applied  []struct {
		Kind, Name, Action, Result string
	} `json:"applied"`
	Failed *struct {
		Kind, Name, Action, Error string
	} `json:"failed"`
	NotApplied []struct{ Kind, Name, Action string } `json:"not_applied"`
	Audit      *client.ApplyRecord                   `json:"audit"`
}

// changes lists a report's changes as "action kind name".
func (r appReport) changes() []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Action+" "+c.Kind+" "+c.Name)
	}
	return out
}

func (r appReport) risks() []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Risks...)
	}
	return out
}

func (r appReport) applied() []string {
	var out []string
	for _, c := range r.Applied {
		out = append(out, c.Action+" "+c.Kind+" "+c.Name)
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestAppPlanApplyDrift takes one daemon through every kind of change an
// app file makes, with drift checked after each.
func TestAppPlanApplyDrift(t *testing.T) {
	n := start(t, "")
	ctx := context.Background()
	a := newAppDir(t, n)
	a.function("orders", "")
	a.function("notes", "")
	a.file(`name: shop
functions: [orders, notes]
keys:
  ci:
    functions: [orders]
    scopes: [read]
budgets:
  orders: {window: day, invocations: 1000}
environments:
  prod:
    secrets: [DB_URL]
`)

	// The plan creates everything, and names the secret missing.
	r := a.report(0, "plan", "--env", "prod")
	sameList(t, "first plan", r.changes(), []string{
		"create function orders", "create function notes", "create key ci", "create budget function:orders", "missing secret DB_URL"})
	if code, _, _ := a.pave("plan"); code != 2 {
		t.Errorf("plan without --env for a file with environments: exit %d, want 2", code)
	}

	// Apply refuses before changing anything while the secret is missing.
	code, out, errOut := a.pave("apply", "--env", "prod", "--yes")
	if code != 1 || !strings.Contains(errOut, "nothing applied: environment prod lacks secret DB_URL") {
		t.Fatalf("apply without the secret: exit %d\n%s\n%s", code, out, errOut)
	}
	if fns, _ := n.admin.ListFunctions(ctx); len(fns) != 0 {
		t.Fatalf("a refused apply deployed %d functions", len(fns))
	}
	if _, err := n.admin.SetSecret(ctx, "DB_URL", []byte("postgres://db")); err != nil {
		t.Fatal(err)
	}

	// Without --yes, apply asks, and does nothing unless told yes.
	code, out, errOut = a.pave("apply", "--env", "prod")
	if code != 1 || !strings.Contains(errOut, "nothing applied: not confirmed") || !strings.Contains(errOut, "+ create function orders") {
		t.Fatalf("apply not confirmed: exit %d\n%s\n%s", code, out, errOut)
	}
	if fns, _ := n.admin.ListFunctions(ctx); len(fns) != 0 {
		t.Fatalf("an apply not confirmed deployed %d functions", len(fns))
	}
	commit := a.git()
	a.stdin = "yes\n"
	r = a.report(0, "apply", "--env", "prod")
	a.stdin = ""
	sameList(t, "first apply", r.applied(), []string{"create function orders", "create function notes", "create key ci", "create budget function:orders"})
	secret := strings.Fields(r.Applied[2].Result)[1]
	if !strings.HasPrefix(secret, "pave_k_") {
		t.Fatalf("the new key's secret is not reported: %q", r.Applied[2].Result)
	}
	if r.Audit == nil || r.Audit.Outcome != "ok" || len(r.Audit.Done) != 4 || !strings.HasPrefix(r.Audit.Done[0], "function.deploy function:orders") {
		t.Fatalf("audit record %+v", r.Audit)
	}
	if resp := n.call("GET", "/orders", secret, nil); resp.status != 200 {
		t.Fatalf("the key apply created: %d %s", resp.status, resp.body)
	}
	ev := checkApplyEvent(t, n, r.Digest, "ok", 4)
	if commit != "" && (ev.Details["commit"] != commit || ev.Details["dirty"] != "false" || ev.Details["env"] != "prod") {
		t.Errorf("the apply's event does not carry commit %s of a clean tree: %v", commit, ev.Details)
	}

	if code, out, _ := a.pave("drift", "--env", "prod"); code != 0 || !strings.Contains(out, "no drift") {
		t.Fatalf("drift after apply: exit %d\n%s", code, out)
	}
	if r := a.report(0, "apply", "--env", "prod", "--yes"); len(r.Applied) != 0 || r.Audit == nil || r.Audit.Outcome != "ok" {
		t.Fatalf("a second apply changed %q", r.applied())
	}

	// Changes by hand: a function deployed, a key created, a budget set.
	stray, err := os.ReadFile(filepath.Join(a.dir, "notes", "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n.deploy(strings.ReplaceAll(string(stray), "notes", "stray"), testguests.Build(t, "counter"))
	n.key("manual", "orders")
	if _, err := n.admin.SetBudget(ctx, "owner:shop", client.Budget{Window: "day", Invocations: 5}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = a.pave("drift", "--env", "prod")
	if code != 1 || !strings.Contains(out, "- function stray: deployed, but not declared") ||
		!strings.Contains(out, "- key manual: active, but not declared") || !strings.Contains(out, "- budget owner:shop: override not declared") ||
		!strings.Contains(errOut, "differs from the app file") {
		t.Fatalf("drift after changes by hand: exit %d\n%s\n%s", code, out, errOut)
	}
	// Without --prune, plan leaves them and says so.
	if r := a.report(0, "plan", "--env", "prod"); len(r.Changes) != 0 || r.Unpruned != 3 {
		t.Fatalf("plan without --prune: %q, %d unpruned", r.changes(), r.Unpruned)
	}

	// The second version: orders gets a public route and an outbound
	// grant, ci a scope, orders' budget a higher cap, notes is dropped
	// and reports added.
	a.function("orders", "  - method: GET\n    path: /orders/open\n    public: true\ncapabilities:\n  http: [api.example.com]\n")
	a.function("reports", "")
	a.file(`name: shop
functions: [orders, reports]
keys:
  ci:
    functions: [orders, reports]
    scopes: [read, write]
budgets:
  orders: {window: day, invocations: 2000}
environments:
  prod:
    secrets: [DB_URL]
`)
	r = a.report(0, "plan", "--env", "prod", "--prune")
	sameList(t, "second plan", r.changes(), []string{
		"update function orders", "create function reports", "update key ci", "update budget function:orders",
		"delete budget owner:shop", "delete key manual", "delete function notes", "delete function stray"})
	sameList(t, "second plan's risks", r.risks(), []string{
		"route GET /orders/open becomes public", "grant widens: http +api.example.com",
		"key widens: functions +reports", "key widens: scopes +write",
		"budget widens: a cap is raised or removed", "budget widens: the override is removed"})
	_, text, _ := a.pave("plan", "--env", "prod", "--prune")
	if !strings.Contains(text, "~ update function orders: manifest changed\n      RISK: route GET /orders/open becomes public") {
		t.Errorf("text plan:\n%s", text)
	}

	r = a.report(0, "apply", "--env", "prod", "--prune", "--yes")
	if len(r.Applied) != 8 || r.Audit == nil || len(r.Audit.Done) != 8 {
		t.Fatalf("second apply: %q, audit %+v", r.applied(), r.Audit)
	}
	// The key changed in place: its secret still works, now for reports.
	if resp := n.call("GET", "/reports", secret, nil); resp.status != 200 {
		t.Fatalf("the updated key: %d %s", resp.status, resp.body)
	}
	if code, out, _ := a.pave("drift", "--env", "prod"); code != 0 {
		t.Fatalf("drift after the second apply: exit %d\n%s", code, out)
	}

	// A failed apply halfway: three new functions, the second refused by
	// the daemon (its webhook secret file does not exist).
	a.function("alpha", "")
	a.function("beta", "  - method: POST\n    path: /beta/hook\n    auth: webhook\n    webhook: {scheme: github, secret_file: "+filepath.Join(a.dir, "no-such-secret")+"}\n")
	a.function("gamma", "")
	a.file(`name: shop
functions: [orders, reports, alpha, beta, gamma]
keys:
  ci:
    functions: [orders, reports]
    scopes: [read, write]
    expires: 720h
budgets:
  orders: {window: day, invocations: 2000}
environments:
  prod:
    secrets: [DB_URL]
`)
	r = a.report(1, "apply", "--env", "prod", "--yes")
	sameList(t, "applied before the failure", r.applied(), []string{"create function alpha"})
	if r.Failed == nil || r.Failed.Name != "beta" || len(r.NotApplied) != 2 || r.NotApplied[0].Name != "gamma" || r.NotApplied[1].Name != "ci" {
		t.Fatalf("failed apply: failed %+v, not applied %+v", r.Failed, r.NotApplied)
	}
	if r.Audit == nil || r.Audit.Outcome != "failed" || len(r.Audit.Done) != 1 || len(r.Audit.Refused) != 1 {
		t.Fatalf("audit record of the failed apply: %+v", r.Audit)
	}
	if ev := checkApplyEvent(t, n, r.Digest, "failed", 1); commit != "" && (ev.Details["commit"] != commit || ev.Details["dirty"] != "true") {
		t.Errorf("the apply's event does not carry commit %s of a dirty tree: %v", commit, ev.Details)
	}
	code, out, errOut = a.pave("apply", "--env", "prod", "--yes")
	// Run again, it starts where the last one stopped, and stops there.
	if code != 1 || strings.Contains(out, "applied: create function alpha") || !strings.Contains(out, "FAILED: create function beta") ||
		!strings.Contains(out, "not applied: create function gamma") || !strings.Contains(errOut, "apply stopped at create function beta") {
		t.Fatalf("text report of a failed apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := a.pave("drift", "--env", "prod"); code != 1 || !strings.Contains(out, "+ function beta: declared, but not on the daemon") || !strings.Contains(out, "~ key ci: expires never -> 720h0m0s after creation") {
		t.Fatalf("drift after a failed apply: exit %d\n%s", code, out)
	}

	// A route that collides with another function's is refused before
	// anything changes, even one of a function apply would remove.
	a.function("gamma", "  - method: GET\n    path: /beta/x\n")
	a.function("delta", "  - method: GET\n    path: /orders\n")
	a.file(`name: shop
functions: [reports, alpha, beta, gamma, delta]
`)
	code, out, errOut = a.pave("plan", "--prune")
	if code != 1 || !strings.Contains(errOut, `GET /orders of function "delta" collides with GET /orders of function "orders"`) {
		t.Fatalf("plan with colliding routes: exit %d\n%s\n%s", code, out, errOut)
	}

	// JWT issuers are the daemon's configuration: declared, they are
	// compared, never applied.
	a.file(`name: shop
functions: [orders, reports, alpha, gamma]
issuers:
  - issuer: https://auth.example/
    audiences: [pave]
`)
	if code, out, _ := a.pave("drift"); code != 1 || !strings.Contains(out, "! issuer https://auth.example/: declared, but not trusted by the daemon\n      outside apply's reach") {
		t.Fatalf("drift of an issuer: exit %d\n%s", code, out)
	}
}

// git makes the app's directory a git repository with everything
// committed and returns the commit, or "" without git.
func (a *appDir) git() string {
	a.t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		a.t.Log("no git: the commit of an apply is not checked")
		return ""
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=pave", "-c", "user.email=pave@example.com", "commit", "-q", "-m", "shop"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = a.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			a.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = a.dir
	out, err := cmd.Output()
	if err != nil {
		a.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// checkApplyEvent checks the last app.apply event of the audit log and
// returns it.
func checkApplyEvent(t *testing.T, n *node, digest, outcome string, changes int) *client.AuditEvent {
	t.Helper()
	var last *client.AuditEvent
	err := n.admin.AuditEvents(context.Background(), "", func(e client.AuditEvent) error {
		if e.Action == "app.apply" {
			last = &e
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last == nil || last.Target != "app:shop" || last.Outcome != outcome || last.Details["digest"] != digest ||
		last.Details["changes"] != strconv.Itoa(changes) || last.Details["apply"] == "" {
		t.Fatalf("app.apply event %+v, want outcome %s, digest %s, %d changes", last, outcome, digest, changes)
	}
	return last
}

// TestApplyAuditRefusals checks what the daemon takes from the client
// starting an apply, and that requests name an apply only while it is
// open.
func TestApplyAuditRefusals(t *testing.T) {
	n := start(t, "")
	ctx := context.Background()
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		req  client.ApplyStart
	}{
		{"bad app", client.ApplyStart{App: "Shop!", Digest: digest}},
		{"bad digest", client.ApplyStart{App: "shop", Digest: "sha256:xyz"}},
		{"bad commit", client.ApplyStart{App: "shop", Digest: digest, Commit: "HEAD"}},
		{"bad env", client.ApplyStart{App: "shop", Digest: digest, Env: "prod env"}},
	} {
		if _, err := n.admin.StartApply(ctx, tc.req); err == nil || !strings.Contains(err.Error(), "bad_request") {
			t.Errorf("%s: %v, want bad_request", tc.name, err)
		}
	}
	ac, err := n.admin.StartApply(ctx, client.ApplyStart{App: "shop", Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.SetBudget(ctx, "owner:shop", client.Budget{Window: "day", Invocations: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateKey(ctx, client.CreateKeyRequest{Name: "k", Functions: []string{"nope"}}); err == nil {
		t.Fatal("a key for a function that does not exist")
	}
	rec, err := ac.FinishApply(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, "done", rec.Done, []string{"budget.set owner:shop"})
	sameList(t, "refused", rec.Refused, []string{"POST /v1/keys: function_not_found"})
	if rec.Outcome != "failed" {
		t.Errorf("outcome %q with a refusal", rec.Outcome)
	}
	// Finished, the apply takes no more changes and cannot be finished again.
	if err := ac.ClearBudget(ctx, "owner:shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.FinishApply(ctx, true); !client.IsNotFound(err) {
		t.Fatalf("finishing twice: %v", err)
	}
}

// TestAppPolicies: an app file's policies are checked against its
// functions before anything changes, set with the apply, and a set changed
// by hand afterwards is drift.
func TestAppPolicies(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	a := newAppDir(t, n)
	a.function("orders", "limits:\n  timeout: 45s\n")
	policies := `policies:
  - name: short-timeouts
    expression: manifest.limits.timeout <= duration("30s")
    message: timeout at most 30s
`
	a.file("name: shop\nfunctions: [orders]\n" + policies)

	// A function that breaks the file's rule stops plan and apply.
	for _, cmd := range [][]string{{"plan"}, {"apply", "--yes"}} {
		code, out, errOut := a.pave(cmd...)
		if code != 1 || !strings.Contains(errOut, `function orders: policy "short-timeouts"`) || !strings.Contains(errOut, "timeout at most 30s") {
			t.Errorf("%s with a violating function: exit %d\n%s\n%s", cmd, code, out, errOut)
		}
	}
	if fns, _ := n.admin.ListFunctions(ctx); len(fns) != 0 {
		t.Fatalf("a refused apply deployed %d functions", len(fns))
	}
	if set, _ := n.admin.Policies(ctx); len(set) != 0 {
		t.Fatalf("a refused apply set %d policies", len(set))
	}

	// Within the rule: the policies come first, then the function.
	a.function("orders", "limits:\n  timeout: 20s\n")
	r := a.report(0, "plan")
	sameList(t, "plan", r.changes(), []string{"create policies shop", "create function orders"})
	if code, out, errOut := a.pave("apply", "--yes"); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if set, err := n.admin.Policies(ctx); err != nil || len(set) != 1 || set[0].Name != "short-timeouts" {
		t.Fatalf("the daemon's policies after the apply: %+v, %v", set, err)
	}
	if code, out, errOut := a.pave("drift"); code != 0 {
		t.Errorf("drift after the apply: exit %d\n%s\n%s", code, out, errOut)
	}

	// The rule removed by hand: drift, with the risk named.
	if _, err := n.admin.SetPolicies(ctx, nil); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := a.pave("drift")
	if code == 0 || !strings.Contains(out+errOut, "policies") {
		t.Errorf("drift after the rule was removed by hand: exit %d\n%s\n%s", code, out, errOut)
	}
	r = a.report(0, "plan")
	sameList(t, "plan after the removal", r.changes(), []string{"create policies shop"})
}
