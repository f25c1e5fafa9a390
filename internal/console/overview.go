package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
)

type overviewData struct {
	HistoryMissing bool
	// HistoryError is set when the history could not be read.
	HistoryError   bool
	TopCallers     []chart // by calls and by refusals, over the day
	Total          trafficRow
	Functions      []trafficRow
	Charts         []chart
	Refusals       chart
	Owners         []ownerBudget
	BudgetsMissing bool
}

// trafficRow sums one function's calls (or all, Name "total").
type trafficRow struct {
	Name      string
	Hour, Day summary
	Sparkline chart
}

type summary struct {
	Calls, Errors, Refused int
	P50, P99               string
}

func summarize(b *bucket) summary {
	s := summary{Calls: b.Calls, Errors: b.Errors, Refused: b.Refused, P50: "–", P99: "–"}
	if len(b.durations) > 0 {
		s.P50, s.P99 = fmt.Sprintf("%.1f ms", b.P50()), fmt.Sprintf("%.1f ms", b.P99())
	}
	return s
}

// ownerBudget is one owner's budget and spending in its window.
type ownerBudget struct {
	Owner  string
	Capped bool
	Window string
	Meters chart
	Spent  string // when there is no cap
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	now := c.now()
	data := overviewData{HistoryMissing: c.d.History == nil}
	total := newTraffic(now)
	fns := c.d.Functions.List()
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	byName := make(map[string]*traffic, len(fns))
	callers := callerTally{} // of every function: the traffic of each counts into it
	for _, f := range fns {
		t := newTraffic(now)
		t.callers = callers
		byName[f.Name] = t
	}
	if c.d.History != nil {
		if err := c.readAllTraffic(r.Context(), byName, total.day.start()); err != nil {
			data.HistoryError = true
			c.log.Warn("console: history not read", "err", err)
		}
	}
	for _, f := range fns {
		t := byName[f.Name]
		total.merge(t)
		data.Functions = append(data.Functions, trafficRow{
			Name: f.Name, Hour: summarize(t.hour.total()), Day: summarize(t.day.total()),
			Sparkline: sparkline("spark-"+f.Name, "Calls per hour of "+f.Name+", last day", t.day),
		})
	}
	data.Total = trafficRow{Name: "total", Hour: summarize(total.hour.total()), Day: summarize(total.day.total())}
	data.Charts = []chart{
		trafficChart("calls-hour", "Calls, last hour (5-minute buckets)", total.hour),
		durationChart("duration-hour", "Duration p50 and p99, last hour", total.hour),
		trafficChart("calls-day", "Calls, last day (hourly buckets)", total.day),
		durationChart("duration-day", "Duration p50 and p99, last day", total.day),
	}
	data.Refusals = refusalChart(total.refusals)
	data.TopCallers = []chart{
		hbarChart("callers-calls", "Top callers by calls, last day", callers.top(topCallers, false), 0, "No calls in the last day."),
		hbarChart("callers-refused", "Top callers by refusals, last day", callers.top(topCallers, true), 0, "No refusals in the last day."),
	}
	data.BudgetsMissing = c.d.Budgets == nil
	if c.d.Budgets != nil {
		data.Owners = c.ownerBudgets(fns)
	}
	c.render(w, http.StatusOK, "overview", s, data)
	return nil
}

// readTraffic counts fn's records of the last day into t.
func (c *Console) readTraffic(ctx context.Context, fn string, t *traffic) error {
	return c.d.History.Read(ctx, observe.Query{Function: fn, Brief: true, Since: t.day.start()}, func(rec observe.Record) error {
		t.add(rec)
		return nil
	})
}

// readAllTraffic counts the records since since of each function of
// byName into its traffic, in one pass over the history; the records of
// functions no longer deployed are left out.
func (c *Console) readAllTraffic(ctx context.Context, byName map[string]*traffic, since time.Time) error {
	return c.d.History.Read(ctx, observe.Query{AllFunctions: true, Brief: true, Since: since}, func(rec observe.Record) error {
		if t := byName[rec.Function]; t != nil {
			t.add(rec)
		}
		return nil
	})
}

// sparkline is a small chart of calls per bucket.
func sparkline(id, title string, s *series) chart {
	c := chart{ID: id, Title: title, Width: 120, Height: 24}
	peak := 0
	for _, b := range s.buckets {
		peak = max(peak, b.Calls)
	}
	if peak == 0 {
		c.Empty = "no calls"
		return c
	}
	bw := 120.0 / float64(len(s.buckets))
	for i, b := range s.buckets {
		if b.Calls == 0 {
			continue
		}
		h := float64(b.Calls) / float64(peak) * 22
		c.Rects = append(c.Rects, newRect(float64(i)*bw, 24-h, bw-1, h, "calls", strconv.Itoa(b.Calls)+" calls"))
	}
	return c
}

// ownerBudgets is every owner's spending against its cap. An owner's
// budget exists only as an override (pave budget set owner:NAME).
func (c *Console) ownerBudgets(fns []*registry.Function) []ownerBudget {
	caps := map[string]limits.Budget{}
	for _, o := range c.d.Budgets.Overrides() {
		caps[o.Subject] = o.Budget
	}
	seen := map[string]bool{}
	var out []ownerBudget
	for _, f := range fns {
		if seen[f.Owner] {
			continue
		}
		seen[f.Owner] = true
		subject := limits.OwnerSubject(f.Owner)
		u, _ := c.d.Budgets.Usage(subject)
		b, capped := caps[subject]
		ob := ownerBudget{Owner: f.Owner, Capped: capped}
		if !capped {
			ob.Spent = fmt.Sprintf("%d calls, %.3f GB-s, %s of requests this window", u.Invocations, u.ComputeGBs, byteSize(u.RequestBytes))
			out = append(out, ob)
			continue
		}
		ob.Window = string(b.Window)
		var rows []hbar
		meter := func(name string, used, limit float64, text string) {
			if limit <= 0 {
				return
			}
			pct := 100 * used / limit
			class := "calls"
			if pct >= 80 {
				class = "refused"
			}
			if pct >= 100 {
				class = "errors"
			}
			rows = append(rows, hbar{Name: name, Value: pct, Text: fmt.Sprintf("%.0f%% (%s)", pct, text), Class: class})
		}
		meter("invocations", float64(u.Invocations), float64(b.Invocations), fmt.Sprintf("%d of %d", u.Invocations, b.Invocations))
		meter("compute GB-s", u.ComputeGBs, b.ComputeGBs, fmt.Sprintf("%.3f of %.3f", u.ComputeGBs, b.ComputeGBs))
		meter("request bytes", float64(u.RequestBytes), float64(b.RequestBytes), byteSize(u.RequestBytes)+" of "+byteSize(b.RequestBytes))
		ob.Meters = hbarChart("budget-"+f.Owner, "Budget burn of "+f.Owner, rows, 100, "This cap sets no meter.")
		out = append(out, ob)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Owner < out[j].Owner })
	return out
}
