package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/metrics"
	"github.com/pave-dev/pave/internal/observe"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, b)
	}
	return string(b)
}

func TestObserveCounts(t *testing.T) {
	m := metrics.New()
	for _, r := range []observe.Record{
		{Function: "orders", Status: 200, DurationMS: 2, MemoryBytes: 4 << 20, Capabilities: map[string]observe.CapabilityCount{"kv": {Calls: 3, Denials: 1}}},
		{Function: "orders", Status: 200, DurationMS: 4},
		{Function: "orders", Status: 401, Code: "unauthenticated"},
		{Function: "orders", Status: 502, Code: "function_failed", DurationMS: 1},
		{Function: "", Status: 404, Code: "route_not_found"},
	} {
		m.Observe(r)
	}
	m.GaugeFunc("pave_test_gauge", "A gauge for the test.", func() float64 { return 7 })
	m.GaugeVecFunc("pave_test_vec", "A labelled gauge for the test.", []string{"subject"}, func() []metrics.Sample {
		return []metrics.Sample{{Labels: []string{"function:orders"}, Value: 3}}
	})
	out := scrape(t, m)
	for _, want := range []string{
		`pave_invocations_total{function="orders",outcome="ok"} 2`,
		`pave_invocations_total{function="orders",outcome="unauthenticated"} 1`,
		`pave_invocations_total{function="orders",outcome="function_failed"} 1`,
		`pave_invocations_total{function="",outcome="route_not_found"} 1`,
		`pave_refusals_total{code="unauthenticated",reason="auth"} 1`,
		`pave_refusals_total{code="route_not_found",reason="route"} 1`,
		`pave_invocation_duration_seconds_count{function="orders"} 3`,
		`pave_invocation_duration_seconds_sum{function="orders"} 0.007`,
		`pave_invocation_memory_bytes_count{function="orders"} 1`,
		`pave_capability_calls_total{capability="kv",function="orders"} 3`,
		`pave_capability_denials_total{capability="kv",function="orders"} 1`,
		`pave_test_gauge 7`,
		`pave_test_vec{subject="function:orders"} 3`,
		`go_goroutines `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, `pave_refusals_total{code="function_failed"`) {
		t.Error("a function's failure counted as a refusal")
	}
}
