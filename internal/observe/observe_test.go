package observe_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/store"
)

func openHistory(t *testing.T, opts observe.Options) *observe.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	s, err := n.Stream(ctx, observe.StreamConfig(observe.Retention{MaxAge: time.Hour, MaxBytes: 64 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	return observe.New(s, opts)
}

func readAll(t *testing.T, h *observe.History, q observe.Query) []observe.Record {
	t.Helper()
	var out []observe.Record
	if err := h.Read(context.Background(), q, func(r observe.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHistoryWritesAndReads(t *testing.T) {
	h := openHistory(t, observe.Options{})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	for i, status := range []int{200, 404, 502, 200} {
		h.Observe(observe.Record{Function: "orders", RequestID: string(rune('a' + i)), Status: status, Time: start.Add(time.Duration(i) * time.Second)})
	}
	h.Observe(observe.Record{Function: "billing", RequestID: "z", Status: 200, Time: start})
	h.Observe(observe.Record{Function: "", RequestID: "no-function", Status: 404, Time: start}) // not kept
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, observe.Query{Function: "orders"}); len(got) != 4 || got[0].RequestID != "a" || got[3].RequestID != "d" {
		t.Errorf("orders: %+v", got)
	}
	if got := readAll(t, h, observe.Query{Function: "billing"}); len(got) != 1 {
		t.Errorf("billing: %+v", got)
	}
	five, _ := observe.ParseStatus("5xx")
	if got := readAll(t, h, observe.Query{Function: "orders", Status: five}); len(got) != 1 || got[0].Status != 502 {
		t.Errorf("5xx: %+v", got)
	}
	if got := readAll(t, h, observe.Query{Function: "orders", Since: start.Add(2 * time.Second)}); len(got) != 2 {
		t.Errorf("since: %+v", got)
	}
	if got := readAll(t, h, observe.Query{Function: "nobody"}); len(got) != 0 {
		t.Errorf("a function without records: %+v", got)
	}
	if h.Stored() != 5 || h.Dropped() != 0 {
		t.Errorf("stored %d, dropped %d", h.Stored(), h.Dropped())
	}
	if err := h.Read(ctx, observe.Query{Function: "a.>"}, func(observe.Record) error { return nil }); err == nil {
		t.Error("a wildcard function name was read")
	}
}

// Every function's records in one read, and brief records, read twice
// (the second time from the decoded batches kept) and after more arrive:
// the same as whole ones, but for the fields Brief leaves out.
func TestHistoryReadsAllFunctionsAndBrief(t *testing.T) {
	h := openHistory(t, observe.Options{})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	add := func(fn, id string, status int, code string, at time.Duration) {
		h.Observe(observe.Record{Function: fn, RequestID: id, Status: status, Code: code, Digest: "sha256:x", DurationMS: 1.5,
			Route: "GET /" + fn, Logs: []observe.LogLine{{Level: "INFO", Msg: "hi"}}, Time: start.Add(at)})
	}
	add("orders", "a", 200, "", 0)
	add("billing", "b", 401, "unauthenticated", time.Second)
	add("orders", "c", 500, "function_failed", 2*time.Second)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    observe.Query
		want int
	}{
		{"every function", observe.Query{AllFunctions: true}, 3},
		{"every function, brief", observe.Query{AllFunctions: true, Brief: true}, 3},
		{"every function, brief, again", observe.Query{AllFunctions: true, Brief: true}, 3},
		{"one function, brief", observe.Query{Function: "orders", Brief: true}, 2},
		{"brief, since", observe.Query{AllFunctions: true, Brief: true, Since: start.Add(time.Second)}, 2},
	} {
		got := readAll(t, h, tt.q)
		if len(got) != tt.want {
			t.Errorf("%s: %d records, want %d", tt.name, len(got), tt.want)
			continue
		}
		for _, r := range got {
			if r.Function == "" || r.Digest != "sha256:x" || r.Status == 0 || r.DurationMS != 1.5 || r.Time.IsZero() ||
				(r.Status != 200) != (r.Code != "") {
				t.Errorf("%s: %+v", tt.name, r)
			}
			if brief := r.RequestID == "" && r.Route == "" && r.Logs == nil; brief != tt.q.Brief {
				t.Errorf("%s: brief %v: %+v", tt.name, brief, r)
			}
		}
	}
	add("billing", "d", 200, "", 3*time.Second)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, observe.Query{AllFunctions: true, Brief: true}); len(got) != 4 || got[3].Function != "billing" {
		t.Errorf("after one more record: %+v", got)
	}
}

// Records too large for one message are split over several.
func TestHistorySplitsLargeBatches(t *testing.T) {
	h := openHistory(t, observe.Options{})
	line := observe.LogLine{Level: "INFO", Msg: strings.Repeat("x", 4096)}
	logs := make([]observe.LogLine, 200)
	for i := range logs {
		logs[i] = line
	}
	for i := 0; i < 6; i++ { // about 800 KiB each
		h.Observe(observe.Record{Function: "chatty", Status: 200, Time: time.Now(), Logs: logs})
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, observe.Query{Function: "chatty"}); len(got) != 6 || len(got[5].Logs) != 200 {
		t.Errorf("%d records read back", len(got))
	}
}

func TestHistoryDropsWhenFull(t *testing.T) {
	h := openHistory(t, observe.Options{MaxQueued: 3})
	for i := 0; i < 5; i++ {
		h.Observe(observe.Record{Function: "f", Status: 200, Time: time.Now()})
	}
	if h.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", h.Dropped())
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, observe.Query{Function: "f"}); len(got) != 3 {
		t.Errorf("%d records kept, want 3", len(got))
	}
}

func TestHistoryFollow(t *testing.T) {
	h := openHistory(t, observe.Options{FlushInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	got := make(chan observe.Record, 10)
	done := make(chan error, 1)
	go func() {
		done <- h.Read(ctx, observe.Query{Function: "live", Follow: true}, func(r observe.Record) error {
			got <- r
			return nil
		})
	}()
	time.Sleep(100 * time.Millisecond)
	h.Observe(observe.Record{Function: "live", RequestID: "later", Status: 200, Time: time.Now()})
	select {
	case r := <-got:
		if r.RequestID != "later" {
			t.Errorf("followed %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new record did not reach the follower")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("follow ended with %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	for _, tt := range []struct {
		in    string
		match []int
		miss  []int
	}{
		{"", []int{100, 200, 599}, nil},
		{"5xx", []int{500, 502, 599}, []int{499, 200}},
		{"404", []int{404}, []int{400, 405}},
	} {
		f, err := observe.ParseStatus(tt.in)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		for _, s := range tt.match {
			if !f.Match(s) {
				t.Errorf("%q does not match %d", tt.in, s)
			}
		}
		for _, s := range tt.miss {
			if f.Match(s) {
				t.Errorf("%q matches %d", tt.in, s)
			}
		}
	}
	for _, bad := range []string{"6xx", "0xx", "99", "600", "abc", "5XX", "-1"} {
		if _, err := observe.ParseStatus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRecordRan(t *testing.T) {
	for code, ran := range map[string]bool{"": true, "function_failed": true, "function_timeout": true, "unauthenticated": false, "rate_limited": false, "budget_exhausted": false, "invalid_input": false} {
		if got := observe.Ran(observe.Record{Function: "f", Digest: "sha256:a", Code: code}); got != ran {
			t.Errorf("code %q: Ran() = %v", code, got)
		}
	}
	// A queued call's 202 and a status read name no module: nothing ran.
	if observe.Ran(observe.Record{Function: "f", Status: 202}) {
		t.Error("a record without a module counts as a run")
	}
}

func TestRefusalReason(t *testing.T) {
	for _, tt := range []struct {
		code, reason string
		refused      bool
	}{
		{"", "", false},
		{"function_timeout", "", false},
		{"unauthenticated", "auth", true},
		{"rate_limited", "rate", true},
		{"owner_concurrency_limited", "concurrency", true},
		{"budget_exhausted", "budget", true},
		{"invalid_event", "input", true},
		{"idempotency_key_reused", "input", true},
		{"call_depth_exceeded", "call_depth", true},
		{"call_count_exceeded", "call_count", true},
		{"route_not_found", "route", true},
		{"function_quarantined", "quarantine", true},
		{"edge_not_allowed", "flow", true},
		{"callback_not_allowed", "flow", true},
		{"something_new", "other", true},
	} {
		reason, refused := observe.RefusalReason(tt.code)
		if reason != tt.reason || refused != tt.refused {
			t.Errorf("RefusalReason(%q) = %q, %v; want %q, %v", tt.code, reason, refused, tt.reason, tt.refused)
		}
	}
}
