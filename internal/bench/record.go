package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"
)

// Goal is a figure of a run with the bound the project aims for.
type Goal struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	// Unit is "µs" for a latency, empty for a ratio.
	Unit string `json:"unit,omitempty"`
	// Bound is the goal: Value at least Bound if AtLeast, else under it.
	Bound   float64 `json:"bound"`
	AtLeast bool    `json:"at_least"`
}

// Met reports whether the figure reaches its goal.
func (g Goal) Met() bool {
	if g.AtLeast {
		return g.Value >= g.Bound
	}
	return g.Value < g.Bound
}

func (g Goal) value() string {
	if g.Unit == "" {
		return fmt.Sprintf("%.3f", g.Value)
	}
	return fmt.Sprintf("%+.0f%s", g.Value, g.Unit)
}

func (g Goal) goal() string {
	op := "<"
	if g.AtLeast {
		op = "≥"
	}
	if g.Unit == "" {
		return fmt.Sprintf("%s %g", op, g.Bound)
	}
	return fmt.Sprintf("%s %g%s", op, g.Bound, g.Unit)
}

// Goals returns the figures the project has goals for, of those whose
// targets are among results: the grants targets and the checks against
// hello, hello against the bare handler.
func Goals(results []Result) []Goal {
	byID := map[string]Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	have := func(ids ...string) bool {
		for _, id := range ids {
			if byID[id].Requests == 0 {
				return false
			}
		}
		return true
	}
	micro := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	var goals []Goal
	if have(idUsed, idHello) {
		goals = append(goals, Goal{Figure: "grants used / hello, requests/s", Value: byID[idUsed].OverHello, Bound: 0.8, AtLeast: true})
	}
	if have(idUnused, idHello) {
		goals = append(goals, Goal{Figure: "grants unused / hello, requests/s", Value: byID[idUnused].OverHello, Bound: 0.95, AtLeast: true})
	}
	if have(idHelloJS, idHello) {
		goals = append(goals, Goal{Figure: "hello in TypeScript / hello, requests/s", Value: byID[idHelloJS].OverHello, Bound: 0.5, AtLeast: true})
	}
	if have(idHello, idBare) {
		goals = append(goals, Goal{Figure: fmt.Sprintf("hello / bare, requests/s, %d clients", byID[idHello].Clients), Value: byID[idHello].OverBare, Bound: 0.5, AtLeast: true})
	}
	if have(idKey1, idChecked1) {
		key, checked := byID[idKey1], byID[idChecked1]
		goals = append(goals,
			Goal{Figure: "checks' added p50, 1 client", Value: micro(checked.P50 - key.P50), Unit: "µs", Bound: 40},
			Goal{Figure: "checks' added p99, 1 client", Value: micro(checked.P99 - key.P99), Unit: "µs", Bound: 100})
	}
	if have(idHello1, idBare1) {
		goals = append(goals, Goal{Figure: "hello p50 - bare p50, 1 client", Value: micro(byID[idHello1].P50 - byID[idBare1].P50), Unit: "µs", Bound: 150})
	}
	return goals
}

// Record is a run in machine-readable form, as pave bench --json writes
// it and --compare reads it.
type Record struct {
	Date string `json:"date"`
	// Note says, by hand, how the figures were taken where that is not one
	// run on a quiet machine; pave bench leaves it empty.
	Note        string         `json:"note,omitempty"`
	Requests    int            `json:"requests"`
	Warmup      int            `json:"warmup"`
	Concurrency int            `json:"concurrency"`
	Targets     []TargetRecord `json:"targets"`
	Goals       []Goal         `json:"goals,omitempty"`
}

// TargetRecord is one target's figures. Latencies are in microseconds;
// OverBare and OverHello are 0 where they do not apply.
type TargetRecord struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Clients      int     `json:"clients"`
	Requests     int     `json:"requests"`
	RPS          float64 `json:"requests_per_s"`
	OverBare     float64 `json:"over_bare,omitempty"`
	OverHello    float64 `json:"over_hello,omitempty"`
	P50          float64 `json:"p50_us"`
	P99          float64 `json:"p99_us"`
	P999         float64 `json:"p999_us"`
	Isolation    float64 `json:"isolation_mean_us,omitempty"`
	IsolationP99 float64 `json:"isolation_p99_us,omitempty"`
	CPU          float64 `json:"cpu_per_request_us,omitempty"`
}

// NewRecord returns the record of a run made with opts.
func NewRecord(opts Options, results []Result, date time.Time) Record {
	micro := func(d time.Duration) float64 { return float64(d.Microseconds()) }
	// Four digits after the point are more than a ratio's precision.
	round := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	rec := Record{
		Date:     date.UTC().Format(time.DateOnly),
		Requests: opts.Requests, Warmup: opts.Warmup, Concurrency: opts.Concurrency,
		Goals: Goals(results),
	}
	for i := range rec.Goals {
		rec.Goals[i].Value = round(rec.Goals[i].Value)
	}
	for _, r := range results {
		rec.Targets = append(rec.Targets, TargetRecord{
			ID: r.ID, Name: r.Name, Clients: r.Clients, Requests: r.Requests, RPS: math.Round(r.RPS()),
			OverBare: round(r.OverBare), OverHello: round(r.OverHello),
			P50: micro(r.P50), P99: micro(r.P99), P999: micro(r.P999),
			Isolation: micro(r.Isolation), IsolationP99: micro(r.IsolationP99), CPU: micro(r.CPU),
		})
	}
	return rec
}

// WriteRecord writes rec to the file path as indented JSON.
func WriteRecord(path string, rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadRecord reads a record that WriteRecord wrote.
func ReadRecord(path string) (Record, error) {
	var rec Record
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// regression is how far below its recorded value a ratio may fall before
// Compare warns: absolute figures drift with the machine's load, ratios
// of one run much less.
const regression = 0.20

// Compare returns a warning for each ratio of current, to bare or to
// hello, that is more than 20% below the same target's in recorded.
// Targets and ratios missing from either are skipped; absolute figures
// are never compared.
func Compare(recorded, current Record) []string {
	old := map[string]TargetRecord{}
	for _, t := range recorded.Targets {
		old[t.ID] = t
	}
	var warnings []string
	check := func(id, what string, was, now float64) {
		if was > 0 && now > 0 && now < was*(1-regression) {
			warnings = append(warnings, fmt.Sprintf("WARNING: %s: requests/s over %s %.3f, %.0f%% below the %.3f recorded on %s",
				id, what, now, 100*(1-now/was), was, recorded.Date))
		}
	}
	for _, t := range current.Targets {
		o, ok := old[t.ID]
		if !ok {
			continue
		}
		check(t.ID, "bare", o.OverBare, t.OverBare)
		check(t.ID, "hello", o.OverHello, t.OverHello)
	}
	return warnings
}
