package daemon_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkConsolePages times each page of the web console through a real
// daemon holding 200 functions and 100,000 invocation records of the last
// day in its store (500 per function; one in 20 a 5xx, one in 20 refused,
// each with a log line), over HTTP with a signed-in session, one request
// at a time. It reports ms/op per page, and cpu-ms/op, the process's CPU
// time per request (the daemon's background work included), which varies
// less with the machine's other load; it asserts only that each answers
// 200. The records are written in one go, so the store holds them all as
// of now: a query of the last hour reads every one of them, more than it
// would where they arrived over the day.
//
//	go test -run '^$' -bench ConsolePages -benchtime 20x ./internal/daemon/
//
// PAVE_CONSOLE_BENCH_FUNCTIONS and PAVE_CONSOLE_BENCH_RECORDS change the
// sizes.
func BenchmarkConsolePages(b *testing.B) {
	functions, records := envInt(b, "PAVE_CONSOLE_BENCH_FUNCTIONS", 200), envInt(b, "PAVE_CONSOLE_BENCH_RECORDS", 100_000)
	n := start(b, "")
	hello := testguests.Example(b, "hello")
	ctx := context.Background()
	digest, err := n.admin.PutBlob(ctx, hello)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, functions)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%03d", i)
		manifest := strings.Replace(manifestFor(names[i], route("GET", "/"+names[i]), ""),
			"owner: team-test", fmt.Sprintf("owner: team-%d", i%10), 1)
		if _, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: manifest, ManifestFile: "pave.yaml", Digest: digest}); err != nil {
			b.Fatalf("deploy %s: %v", names[i], err)
		}
	}
	n.machineCode()
	n.key("bench", names[:10]...)
	now := time.Now()
	for i := range records {
		fn := names[i%functions]
		r := observe.Record{Time: now.Add(-time.Duration(records-i) * (24 * time.Hour / time.Duration(records))),
			RequestID: fmt.Sprintf("req-%07d", i), Function: fn, Version: 1, Digest: digest, Route: "GET /" + fn,
			Caller: "key:bench", Source: "127.0.0.1", Status: 200, DurationMS: float64(i%97) / 3, MemoryBytes: 1 << 20,
			Logs: []client.LogLine{{Level: "info", Msg: "handled"}}}
		switch i % 20 {
		case 0:
			r.Status, r.Code = 500, "function_failed"
		case 1:
			r.Status, r.Code, r.Digest, r.DurationMS, r.Logs = 401, "unauthenticated", "", 0, nil
		}
		n.d.ObserveInvocation(r)
		if (i+1)%10_000 == 0 || i == records-1 {
			if err := n.d.FlushHistory(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	token, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		b.Fatal(err)
	}
	browser := n.consoleBrowser(b)
	if r := browser.login(strings.TrimSpace(string(token))); r.status != http.StatusSeeOther {
		b.Fatalf("login = %d", r.status)
	}
	for _, page := range []struct{ name, path string }{
		{"overview", "/ui/"},
		{"functions", "/ui/functions"},
		{"function", "/ui/functions/" + names[0]},
		{"posture", "/ui/posture"},
		{"audit", "/ui/audit"},
		{"keys", "/ui/keys"},
	} {
		b.Run(page.name, func(b *testing.B) {
			browser.t = b
			b.ReportAllocs()
			start, cpu := time.Now(), processCPU()
			for b.Loop() {
				if r := browser.do("GET", page.path, nil, nil); r.status != http.StatusOK {
					b.Fatalf("%s = %d %.300s", page.path, r.status, r.body)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var i int
	if _, err := fmt.Sscan(v, &i); err != nil || i <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return i
}
