package daemon_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// scrape returns the admin listener's /metrics.
func (n *node) scrape(t *testing.T) []byte {
	t.Helper()
	token, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", n.d.AdminURL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	return b
}

// metric returns the value of the sample name{labels} in /metrics, or -1
// if it is absent; labels "" means a sample without labels.
func (n *node) metric(t *testing.T, name, labels string) float64 {
	t.Helper()
	sample := name
	if labels != "" {
		sample += "{" + labels + "}"
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindSubmatch(n.scrape(t))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestHistoryAndMetricsCountTheSameCalls runs a scripted sequence of calls
// and checks that the invocation history and the metrics report exactly
// it: every call once, refusals included, with the function's log lines,
// capability calls and no secret value.
func TestHistoryAndMetricsCountTheSameCalls(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	if _, err := n.admin.SetSecret(ctx, "GUEST_SECRET", []byte("canary-value-for-history")); err != nil {
		t.Fatal(err)
	}
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), testguests.Build(t, "capabilities"))
	key := n.key("ci", "capabilities")

	script := []struct {
		path, key string
		status    int
	}{
		{"/secret/log?name=GUEST_SECRET", key, 200},
		{"/secret/log?name=GUEST_SECRET", key, 200},
		{"/secret?name=OTHER", key, 200},                // a denied capability call; the function answers 200
		{"/kv/get?bucket=prices&key=nothing", key, 200}, // not found, answered
		{"/secret", "", 401},
		{"/secret", "pave_k_" + strings.Repeat("a", 52), 401},
		{"/secret/error?name=GUEST_SECRET", key, 502},
	}
	for _, s := range script {
		if r := n.call("GET", s.path, s.key, nil); r.status != s.status {
			t.Fatalf("GET %s: %d %s, want %d", s.path, r.status, r.body, s.status)
		}
	}
	if err := n.d.FlushHistory(ctx); err != nil {
		t.Fatal(err)
	}

	var recs []client.Invocation
	if err := n.admin.History(ctx, "capabilities", client.HistoryQuery{Since: "1h"}, func(r client.Invocation) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(script) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(script), recs)
	}
	for i, r := range recs {
		if r.Status != script[i].status || r.RequestID == "" || r.Function != "capabilities" {
			t.Errorf("record %d: %+v, want status %d", i, r, script[i].status)
		}
	}
	if l := recs[0].Logs; len(l) != 1 || l[0].Level != "INFO" || l[0].Msg != "secret GUEST_SECRET is [REDACTED]" {
		t.Errorf("the first call's log lines: %+v", l)
	}
	if c := recs[2].Capabilities["secrets"]; c.Calls != 1 || c.Denials != 1 {
		t.Errorf("the denied call's capability counts: %+v", recs[2].Capabilities)
	}
	if recs[0].Digest == "" || recs[0].Version != 1 || recs[0].Caller != "key:ci" || recs[0].Route != "GET /secret/log" {
		t.Errorf("record fields: %+v", recs[0])
	}
	if recs[4].Code != "unauthenticated" || recs[6].Code != "function_failed" {
		t.Errorf("error codes: %q, %q", recs[4].Code, recs[6].Code)
	}
	var only5xx int
	if err := n.admin.History(ctx, "capabilities", client.HistoryQuery{Status: "5xx"}, func(client.Invocation) error {
		only5xx++
		return nil
	}); err != nil || only5xx != 1 {
		t.Errorf("status 5xx: %d records, %v", only5xx, err)
	}

	for _, m := range []struct {
		name, labels string
		want         float64
	}{
		{"pave_invocations_total", `function="capabilities",outcome="ok"`, 4},
		{"pave_invocations_total", `function="capabilities",outcome="unauthenticated"`, 2},
		{"pave_invocations_total", `function="capabilities",outcome="function_failed"`, 1},
		{"pave_refusals_total", `code="unauthenticated",reason="auth"`, 2},
		{"pave_capability_calls_total", `capability="secrets",function="capabilities"`, 4},
		{"pave_capability_denials_total", `capability="secrets",function="capabilities"`, 1},
		{"pave_capability_calls_total", `capability="kv",function="capabilities"`, 1},
		{"pave_invocation_duration_seconds_count", `function="capabilities"`, 5},
		{"pave_functions", ``, 1},
	} {
		if got := n.metric(t, m.name, m.labels); got != m.want {
			t.Errorf("%s{%s} = %v, want %v", m.name, m.labels, got, m.want)
		}
	}

	// Without the admin token there are no metrics.
	resp, err := http.Get(n.d.AdminURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/metrics without the token: %d", resp.StatusCode)
	}
	if strings.Contains(n.logs.String(), "canary-value-for-history") {
		t.Error("the secret reached the log")
	}
}
