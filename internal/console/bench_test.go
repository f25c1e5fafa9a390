package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
)

// BenchmarkOverview renders the overview over 200 functions and 100,000
// invocation records of the last day, read from memory: the console's own
// cost, without the store's.
//
//	go test -run '^$' -bench Overview -benchmem ./internal/console/
func BenchmarkOverview(b *testing.B) {
	const functions, records = 200, 100_000
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var fns fakeFunctions
	hist := fakeHistory{}
	for i := range functions {
		name := fmt.Sprintf("fn-%03d", i)
		fns = append(fns, &registry.Function{Name: name, Owner: fmt.Sprintf("team-%d", i%10), Active: 1,
			Versions: []registry.Version{{Number: 1, Digest: "sha256:x"}}})
	}
	for i := range records {
		name := fns[i%functions].Name
		r := observe.Record{Time: now.Add(-time.Duration(i) * (24 * time.Hour / records)), Function: name, Digest: "sha256:x",
			Status: 200, DurationMS: float64(i%97) / 3, Caller: "key:k" + strconv.Itoa(i%50)}
		switch i % 20 {
		case 0:
			r.Status, r.Code = 500, "function_failed"
		case 1:
			r.Status, r.Code, r.Digest, r.Caller, r.Source = 401, "unauthenticated", "", "", "198.51.100."+strconv.Itoa(i%250)
		}
		hist[name] = append(hist[name], r)
	}
	c := New(Deps{Functions: fns, Usage: fakeUsage{}, Keys: &fakeKeys{}, Auth: tokenAuth("x"), History: hist,
		Budgets: fakeBudgets{}, Now: func() time.Time { return now }})
	_, s := c.sessions.create(nil)
	req := httptest.NewRequest("GET", "/ui/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := c.overview(w, req, s); err != nil || w.Code != http.StatusOK {
			b.Fatalf("overview = %d, %v", w.Code, err)
		}
	}
}
