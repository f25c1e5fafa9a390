package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckResponse(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   string
		ok     bool
	}{
		{200, "Hello, world!\n", "Hello, world!\n", true},
		{200, "Hello, upstream!\n", "Hello, upstream!\n", true},
		{200, "Hello, world!\n", "Hello, upstream!\n", false},
		{200, "", "Hello, world!\n", false},
		{201, "Hello, world!\n", "Hello, world!\n", false},
		{502, `{"error":"upstream"}`, "Hello, upstream!\n", false},
	} {
		err := checkResponse(tt.status, []byte(tt.body), tt.want)
		if (err == nil) != tt.ok {
			t.Errorf("checkResponse(%d, %q, %q) = %v, want ok %v", tt.status, tt.body, tt.want, err, tt.ok)
		}
	}
}

func TestCheckSelection(t *testing.T) {
	for _, tt := range []struct {
		only    []string
		profile string
		err     string
	}{
		{nil, "", ""},
		{nil, "hello", ""},
		{[]string{"hello", "grants-used"}, "grants-used", ""},
		{[]string{"bare-1", "hello-1"}, "", ""},
		{[]string{"hello", "nosuch"}, "", `no target "nosuch"`},
		{nil, "nosuch", `no target "nosuch" to profile`},
		{[]string{"hello"}, "key", `"key" is not among the targets measured`},
	} {
		err := CheckSelection(tt.only, tt.profile)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CheckSelection(%q, %q) = %v, want %q", tt.only, tt.profile, err, tt.err)
		}
	}
}

func TestSetRatios(t *testing.T) {
	res := func(id string, clients, requests int) Result {
		return Result{ID: id, Clients: clients, Requests: requests, Elapsed: time.Second}
	}
	results := []Result{
		res(idBare, 16, 20000), res(idFetch, 16, 12000), res(idHello, 16, 10000), res(idUsed, 16, 8000),
		res(idBare1, 1, 5000), res(idHello1, 1, 4000), res(idKey1, 1, 2000),
	}
	setRatios(results)
	want := map[string][2]float64{
		idBare: {0, 0},
		// The bare handler with an upstream request is not a pave target:
		// it has no ratio over hello.
		idFetch: {0.6, 0},
		idHello: {0.5, 0},
		idUsed:  {0.4, 0.8},
		idBare1: {0, 0},
		// One-client variants are compared with the one-client references.
		idHello1: {0.8, 0},
		idKey1:   {0.4, 0.5},
	}
	for _, r := range results {
		if w := want[r.ID]; r.OverBare != w[0] || r.OverHello != w[1] {
			t.Errorf("%s: over bare %v, over hello %v; want %v", r.ID, r.OverBare, r.OverHello, w)
		}
	}
	// With --concurrency 1, the targets without the suffix are still
	// compared with the references without it.
	single := []Result{res(idBare, 1, 20000), res(idHello, 1, 10000), res(idUsed, 1, 8000)}
	setRatios(single)
	if single[2].OverBare != 0.4 || single[2].OverHello != 0.8 {
		t.Errorf("with one client: %+v", single[2])
	}
	// Bare rounds measured with a target are its reference, and over
	// hello compares the two targets' ratios over their own rounds: here
	// the machine ran hello's minutes at 25,000 bare requests/s and the
	// grants target's at 16,000.
	paired := []Result{res(idBare, 16, 20000), res(idHello, 16, 10000), res(idUsed, 16, 8000)}
	paired[1].BareRPS, paired[2].BareRPS = 25000, 16000
	setRatios(paired)
	if paired[1].OverBare != 0.4 || paired[2].OverBare != 0.5 || paired[2].OverHello != 1.25 {
		t.Errorf("with bare rounds: hello %+v, grants %+v", paired[1], paired[2])
	}
	// Without the bare handler, over hello is of requests/s alone.
	noBare := []Result{res(idHello, 16, 10000), res(idUsed, 16, 8000)}
	setRatios(noBare)
	if noBare[1].OverBare != 0 || noBare[1].OverHello != 0.8 {
		t.Errorf("without bare: %+v", noBare[1])
	}
	// Without the references, no ratio.
	alone := []Result{res(idUsed, 16, 8000)}
	setRatios(alone)
	if alone[0].OverBare != 0 || alone[0].OverHello != 0 {
		t.Errorf("without references: %+v", alone[0])
	}
}

func TestFetchCeiling(t *testing.T) {
	cpu := func(id string, us int) Result { return Result{ID: id, CPU: time.Duration(us) * time.Microsecond} }
	for _, tt := range []struct {
		name        string
		results     []Result
		wantExtra   time.Duration
		wantCeiling float64
		wantOK      bool
	}{
		{"measured", []Result{cpu(idBare, 50), cpu(idFetch, 100), cpu(idHello, 150)}, 50 * time.Microsecond, 0.75, true},
		// A fetch measured cheaper than bare (noise) bounds nothing.
		{"noise", []Result{cpu(idBare, 60), cpu(idFetch, 55), cpu(idHello, 150)}, -5 * time.Microsecond, 1, true},
		{"no fetch", []Result{cpu(idBare, 50), cpu(idHello, 150)}, 0, 0, false},
		{"no hello", []Result{cpu(idBare, 50), cpu(idFetch, 100)}, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			extra, ceiling, ok := fetchCeiling(tt.results)
			if extra != tt.wantExtra || ceiling != tt.wantCeiling || ok != tt.wantOK {
				t.Errorf("fetchCeiling = %v, %v, %v; want %v, %v, %v", extra, ceiling, ok, tt.wantExtra, tt.wantCeiling, tt.wantOK)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	recorded := Record{Date: "2026-12-07", Targets: []TargetRecord{
		{ID: "hello", OverBare: 0.40},
		{ID: "grants-used", OverBare: 0.30, OverHello: 0.75},
	}}
	for _, tt := range []struct {
		name    string
		current []TargetRecord
		want    []string // substrings, one per warning
	}{
		{"same", recorded.Targets, nil},
		{"better", []TargetRecord{{ID: "hello", OverBare: 0.60}, {ID: "grants-used", OverBare: 0.5, OverHello: 0.95}}, nil},
		{"within 20%", []TargetRecord{{ID: "hello", OverBare: 0.33}, {ID: "grants-used", OverBare: 0.25, OverHello: 0.61}}, nil},
		{"regressed", []TargetRecord{{ID: "hello", OverBare: 0.30}, {ID: "grants-used", OverBare: 0.30, OverHello: 0.5}}, []string{
			"WARNING: hello: requests/s over bare 0.300, 25% below the 0.400 recorded on 2026-12-07",
			"WARNING: grants-used: requests/s over hello 0.500, 33% below the 0.750",
		}},
		{"not recorded", []TargetRecord{{ID: "fresh", OverBare: 0.001}}, nil},
		// hello was not run, so grants-used has no ratio to it.
		{"not measured", []TargetRecord{{ID: "grants-used", OverBare: 0.29}}, nil},
	} {
		got := Compare(recorded, Record{Targets: tt.current})
		if len(got) != len(tt.want) {
			t.Errorf("%s: %q, want %d warnings", tt.name, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q, want %q", tt.name, got[i], w)
			}
		}
	}
}

func TestGoals(t *testing.T) {
	results := []Result{
		{ID: idBare, Clients: 16, Requests: 100, Elapsed: time.Second},
		{ID: idHello, Clients: 16, Requests: 60, Elapsed: time.Second, OverBare: 0.6},
		{ID: idUsed, Clients: 16, Requests: 30, Elapsed: time.Second, OverBare: 0.3, OverHello: 0.5},
		{ID: idKey1, Clients: 1, Requests: 10, Elapsed: time.Second, P50: 100 * time.Microsecond, P99: 200 * time.Microsecond},
		{ID: idChecked1, Clients: 1, Requests: 10, Elapsed: time.Second, P50: 130 * time.Microsecond, P99: 350 * time.Microsecond},
	}
	got := map[string]Goal{}
	for _, g := range Goals(results) {
		got[g.Figure] = g
	}
	for figure, want := range map[string]struct {
		value float64
		met   bool
	}{
		"grants used / hello, requests/s":      {0.5, false},
		"hello / bare, requests/s, 16 clients": {0.6, true},
		"checks' added p50, 1 client":          {30, true},
		"checks' added p99, 1 client":          {150, false},
	} {
		g, ok := got[figure]
		if !ok || g.Value != want.value || g.Met() != want.met {
			t.Errorf("%s: %+v (met %v), want %v", figure, g, g.Met(), want)
		}
	}
	if len(got) != 4 {
		t.Errorf("goals of targets not run: %v", got)
	}
}

// TestRecorded checks that the figures make bench compares with cover
// every target.
func TestRecorded(t *testing.T) {
	rec, err := ReadRecord("testdata/recorded.json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range rec.Targets {
		ids = append(ids, tr.ID)
	}
	if !slices.Equal(ids, targetIDs) {
		t.Errorf("recorded targets %q, want %q: record them again with pave bench --json", ids, targetIDs)
	}
	if rec.Date == "" {
		t.Error("the record has no date")
	}
}

// TestDrive checks what drive counts: wrong answers as errors, and only
// the requests sent within its limit.
func TestDrive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(5 * time.Millisecond)
		}
		io.WriteString(w, "Hello, world!\n")
	}))
	defer srv.Close()
	ctx := context.Background()
	get := request{method: http.MethodGet, url: srv.URL + "/hello"}
	r, err := drive(ctx, get, "Hello, world!\n", 50, 2, time.Minute)
	if err != nil || r.Requests != 50 || r.Errors != 0 {
		t.Errorf("right body: %+v, %v", r, err)
	}
	if _, err := drive(ctx, get, "Hello, upstream!\n", 50, 2, time.Minute); err == nil || !strings.Contains(err.Error(), "50 of 50 requests failed") {
		t.Errorf("wrong body: %v", err)
	}
	slow := request{method: http.MethodGet, url: srv.URL + "/slow"}
	r, err = drive(ctx, slow, "Hello, world!\n", 1_000_000, 2, 50*time.Millisecond)
	if err != nil || r.Requests == 0 || r.Requests >= 1_000_000 || r.P50 == 0 {
		t.Errorf("limited: %d requests, p50 %s, %v", r.Requests, r.P50, err)
	}
}

func TestBareFetch(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, upstreamBody)
	}))
	defer up.Close()
	for _, tt := range []struct {
		name, url  string
		wantStatus int
		wantBody   string
	}{
		{"answers as the grants function", up.URL + "/", http.StatusOK, grantsBody},
		{"upstream unreachable", "http://127.0.0.1:1/", http.StatusBadGateway, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			bareFetch(up.Client(), tt.url).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hello", nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantBody != "" {
				if err := checkResponse(rec.Code, rec.Body.Bytes(), tt.wantBody); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestShare(t *testing.T) {
	for _, tt := range []struct {
		total, n int
		want     []int
	}{
		{20000, 4, []int{5000, 5000, 5000, 5000}},
		{10, 4, []int{3, 3, 2, 2}},
		{2, 4, []int{1, 1, 1, 1}}, // every round sends at least one
		{7, 1, []int{7}},
	} {
		var got []int
		for i := range tt.n {
			got = append(got, share(tt.total, tt.n, i))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("share(%d, %d) = %v, want %v", tt.total, tt.n, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	a := Result{Requests: 3, Errors: 1, Elapsed: time.Second, lat: ms(1, 2, 9)}
	b := Result{Requests: 2, Elapsed: 2 * time.Second, lat: ms(3, 4)}
	r := merge([]Result{a, b})
	if r.Requests != 5 || r.Errors != 1 || r.Elapsed != 3*time.Second {
		t.Errorf("merged counts %+v", r)
	}
	if r.P50 != 3*time.Millisecond || r.P99 != 9*time.Millisecond {
		t.Errorf("merged p50 %v p99 %v, want 3ms and 9ms", r.P50, r.P99)
	}
	if got := merge([]Result{a}); got.P50 != a.P50 || got.Requests != 3 {
		t.Errorf("one part changed: %+v", got)
	}
}
