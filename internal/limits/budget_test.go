package limits

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const gib = 1 << 30

// alertLog records alerts; safe for concurrent use.
type alertLog struct {
	mu   sync.Mutex
	list []Alert
}

func (a *alertLog) add(x Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, x)
}

func (a *alertLog) all() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Alert(nil), a.list...)
}

// levels returns the levels alerted for subject and meter, in order.
func (a *alertLog) levels(subject string, m Meter) []int {
	var out []int
	for _, x := range a.all() {
		if x.Subject == subject && x.Meter == m {
			out = append(out, x.Level)
		}
	}
	return out
}

func fn(name string, b Budget) []Subject { return []Subject{{Name: FunctionSubject(name), Budget: b}} }

// burst runs total Reserve calls from workers goroutines, settling every
// admitted call with settle, and returns the number admitted. Every refusal
// must be an *ExhaustedError for meter.
func burst(t *testing.T, l *Ledger, subjects []Subject, total, workers int, bytes, mem int64, timeout time.Duration, meter Meter) int64 {
	t.Helper()
	var next, admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for next.Add(1) <= int64(total) {
				res, err := l.Reserve(subjects, bytes, mem, timeout)
				if err != nil {
					var ex *ExhaustedError
					if !errors.As(err, &ex) || ex.Meter != meter || ex.Subject != subjects[0].Name {
						t.Errorf("refusal %v", err)
					}
					continue
				}
				admitted.Add(1)
				res.Settle(time.Millisecond)
			}
		})
	}
	close(start)
	wg.Wait()
	return admitted.Load()
}

// A burst ten times the budget: exactly the budget is admitted, and the
// 80% and 100% alerts fire once each.
func TestBudgetInvocationsUnderBurst(t *testing.T) {
	var log alertLog
	l := NewLedger(newClock(epoch).Now, log.add)
	subj := fn("orders", Budget{Window: Day, Invocations: 1000})
	if got := burst(t, l, subj, 10000, 64, 10, 128<<20, time.Second, MeterInvocations); got != 1000 {
		t.Fatalf("%d admitted, want exactly 1000", got)
	}
	u, _ := l.Usage("function:orders")
	if u.Invocations != 1000 || u.RequestBytes != 10000 {
		t.Errorf("usage %+v", u)
	}
	got := log.all()
	want := []Alert{
		{Subject: "function:orders", Meter: MeterInvocations, Level: 80, Used: 800, Limit: 1000, WindowStart: startOf(epoch, Day)},
		{Subject: "function:orders", Meter: MeterInvocations, Level: 100, Used: 1000, Limit: 1000, WindowStart: startOf(epoch, Day)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alerts\n got %+v\nwant %+v", got, want)
	}
}

func TestBudgetRequestBytesUnderBurst(t *testing.T) {
	var log alertLog
	l := NewLedger(newClock(epoch).Now, log.add)
	subj := fn("upload", Budget{Window: Month, RequestBytes: 1_000_000})
	if got := burst(t, l, subj, 10000, 64, 1000, 0, time.Second, MeterRequestBytes); got != 1000 {
		t.Fatalf("%d admitted, want exactly 1000", got)
	}
	if u, _ := l.Usage("function:upload"); u.RequestBytes != 1_000_000 {
		t.Errorf("usage %+v", u)
	}
	if got := log.levels("function:upload", MeterRequestBytes); fmt.Sprint(got) != "[80 100]" {
		t.Errorf("alert levels %v", got)
	}
}

// Calls that run to their timeout: usage never passes the budget, and ends
// within 1% of it.
func TestBudgetComputeFullTimeouts(t *testing.T) {
	const budget = 100.0 // GB-s
	var log alertLog
	l := NewLedger(newClock(epoch).Now, log.add)
	subj := fn("crunch", Budget{Window: Day, ComputeGBs: budget})
	const mem, timeout = 256 << 20, 1200 * time.Millisecond // 0.3 GB-s a call
	perCall := 0.25 * timeout.Seconds()

	var admitted atomic.Int64
	var overs atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				res, err := l.Reserve(subj, 0, mem, timeout)
				if err != nil {
					if !errors.Is(err, ErrBudgetExhausted) {
						t.Errorf("refusal %v", err)
					}
					return // usage only grows: every later call is refused too
				}
				admitted.Add(1)
				if u, _ := l.Usage("function:crunch"); u.ComputeGBs > budget {
					overs.Add(1)
				}
				if unused := res.Settle(timeout); unused != 0 {
					t.Errorf("a full-timeout call gave back %v", unused)
				}
			}
		})
	}
	wg.Wait()
	if n := overs.Load(); n != 0 {
		t.Fatalf("usage passed the budget %d times", n)
	}
	settled := float64(admitted.Load()) * perCall
	if settled > budget || settled < 0.99*budget {
		t.Fatalf("settled %v GB-s of a %v budget", settled, budget)
	}
	if u, _ := l.Usage("function:crunch"); math.Abs(u.ComputeGBs-settled) > 1e-9 {
		t.Fatalf("ledger usage %v, settled %v", u.ComputeGBs, settled)
	}
	if got := log.levels("function:crunch", MeterCompute); fmt.Sprint(got) != "[80 100]" {
		t.Errorf("alert levels %v", got)
	}
}

// Calls of random length, settled concurrently with new reservations: the
// sum of what they actually used never passes the budget, and the ledger
// ends exactly at that sum.
func TestBudgetComputeConcurrentSettlements(t *testing.T) {
	const budget = 20.0 // GB-s
	l := NewLedger(newClock(epoch).Now, nil)
	subj := fn("mixed", Budget{Window: Day, ComputeGBs: budget})
	const mem, timeout = 128 << 20, 2 * time.Second // at most 0.25 GB-s a call

	var usedUnits, refused atomic.Int64 // MiB·ms actually used
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if u, _ := l.Usage("function:mixed"); u.ComputeGBs > budget {
				t.Errorf("usage %v passed the budget", u.ComputeGBs)
				return
			}
		}
	})
	for w := range 64 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 100 {
				res, err := l.Reserve(subj, 0, mem, timeout)
				if err != nil {
					refused.Add(1)
					continue
				}
				wall := time.Duration(rng.IntN(2001)) * time.Millisecond
				usedUnits.Add(128 * wall.Milliseconds())
				unused := res.Settle(wall)
				if want := 0.125 * (timeout - wall).Seconds(); math.Abs(unused-want) > 1e-9 {
					t.Errorf("Settle(%v) gave back %v, want %v", wall, unused, want)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()

	used := float64(usedUnits.Load()) / unitsPerGBs
	if used > budget {
		t.Fatalf("calls used %v GB-s of a %v budget", used, budget)
	}
	if refused.Load() == 0 {
		t.Fatal("nothing was refused: the test did not reach the budget")
	}
	if u, _ := l.Usage("function:mixed"); math.Abs(u.ComputeGBs-used) > 1e-9 {
		t.Fatalf("ledger usage %v, calls used %v", u.ComputeGBs, used)
	}
}

func TestBudgetAlerts(t *testing.T) {
	type call struct {
		mem     int64
		timeout time.Duration
		admit   bool
	}
	tests := []struct {
		name   string
		budget Budget
		meter  Meter
		calls  []call
		want   []Alert // Subject and WindowStart are filled in
	}{
		{
			name:   "invocations: 80 then 100, then silence",
			budget: Budget{Invocations: 10},
			meter:  MeterInvocations,
			calls:  repeat(call{admit: true}, 10, call{admit: false}, 3),
			want: []Alert{
				{Meter: MeterInvocations, Level: 80, Used: 8, Limit: 10},
				{Meter: MeterInvocations, Level: 100, Used: 10, Limit: 10},
			},
		},
		{
			// Compute rarely lands on the limit exactly: the meter is
			// exhausted when it refuses a call.
			name:   "compute: 100 when a call no longer fits",
			budget: Budget{ComputeGBs: 1},
			meter:  MeterCompute,
			calls:  repeat(call{gib, 300 * time.Millisecond, true}, 3, call{gib, 300 * time.Millisecond, false}, 2),
			want: []Alert{
				{Meter: MeterCompute, Level: 80, Used: 0.9, Limit: 1},
				{Meter: MeterCompute, Level: 100, Used: 0.9, Limit: 1},
			},
		},
		{
			// A budget smaller than one call refuses every call: it is
			// exhausted, and says so once.
			name:   "compute: a call larger than the budget",
			budget: Budget{ComputeGBs: 1},
			meter:  MeterCompute,
			calls:  []call{{gib, 2 * time.Second, false}, {gib, 2 * time.Second, false}, {gib, 900 * time.Millisecond, true}},
			want: []Alert{
				{Meter: MeterCompute, Level: 100, Used: 0, Limit: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log alertLog
			l := NewLedger(newClock(epoch).Now, log.add)
			for i, c := range tt.calls {
				res, err := l.Reserve(fn("f", tt.budget), 0, c.mem, c.timeout)
				if (err == nil) != c.admit {
					t.Fatalf("call %d: admitted %v, want %v (%v)", i, err == nil, c.admit, err)
				}
				res.Settle(c.timeout)
			}
			for i := range tt.want {
				tt.want[i].Subject, tt.want[i].WindowStart = "function:f", startOf(epoch, Day)
			}
			got := log.all()
			if len(got) != len(tt.want) {
				t.Fatalf("alerts\n got %+v\nwant %+v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Subject != w.Subject || g.Meter != w.Meter || g.Level != w.Level || math.Abs(g.Used-w.Used) > 1e-9 ||
					g.Limit != w.Limit || !g.WindowStart.Equal(w.WindowStart) {
					t.Errorf("alert %d\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func repeat[T any](a T, n int, b T, m int) []T {
	var out []T
	for range n {
		out = append(out, a)
	}
	for range m {
		out = append(out, b)
	}
	return out
}

// The alert callback runs without the ledger's lock: it may call back into
// the ledger.
func TestAlertsFireOutsideTheLock(t *testing.T) {
	var l *Ledger
	var seen []Usage
	l = NewLedger(newClock(epoch).Now, func(a Alert) {
		u, _ := l.Usage(a.Subject)
		seen = append(seen, u)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			l.Reserve(fn("f", Budget{Invocations: 2}), 0, 0, 0)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Reserve deadlocked calling the alert function")
	}
	if len(seen) != 2 {
		t.Fatalf("%d alerts", len(seen))
	}
}

func TestWindowRoll(t *testing.T) {
	plus5 := time.FixedZone("+05", 5*3600)
	tests := []struct {
		name      string
		window    Window
		start     time.Time     // the clock when the budget is used up
		advance   time.Duration // to just past the end of the window
		wantReset time.Time     // the start of the next window
	}{
		{"day", Day, time.Date(2026, 3, 14, 23, 59, 30, 0, time.UTC), 30 * time.Second, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"day in another zone", Day, time.Date(2026, 3, 15, 2, 0, 0, 0, plus5), 3 * time.Hour, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"month, February", Month, time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC), time.Second, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"month, leap February", Month, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), 12 * time.Hour, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"month, new year", Month, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.Hour, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"month, first day", Month, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 31 * 24 * time.Hour, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(tt.start)
			var log alertLog
			l := NewLedger(c.Now, log.add)
			subj := fn("f", Budget{Window: tt.window, Invocations: 5})
			for range 5 {
				if _, err := l.Reserve(subj, 0, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			_, err := l.Reserve(subj, 0, 0, 0)
			var ex *ExhaustedError
			if !errors.As(err, &ex) || !ex.ResetAt.Equal(tt.wantReset) || ex.ResetAt.Location() != time.UTC {
				t.Fatalf("refusal %v, want a reset at %v", err, tt.wantReset)
			}

			c.Advance(tt.advance - time.Nanosecond)
			if _, err := l.Reserve(subj, 0, 0, 0); err == nil {
				t.Fatal("admitted a nanosecond before the window ended")
			}
			c.Advance(time.Nanosecond)
			for i := range 5 {
				if _, err := l.Reserve(subj, 0, 0, 0); err != nil {
					t.Fatalf("call %d of the new window: %v", i, err)
				}
			}
			u, _ := l.Usage("function:f")
			if !u.WindowStart.Equal(tt.wantReset) || u.Invocations != 5 || u.Window != tt.window {
				t.Fatalf("usage in the new window %+v", u)
			}
			// The alerts fired again, once each, in the new window.
			got := log.all()
			if len(got) != 4 || got[2].Level != 80 || got[3].Level != 100 || !got[3].WindowStart.Equal(tt.wantReset) || got[1].WindowStart.Equal(tt.wantReset) {
				t.Fatalf("alerts %+v", got)
			}
		})
	}
}

func TestUsageRollsWithoutReserve(t *testing.T) {
	c := newClock(epoch)
	l := NewLedger(c.Now, nil)
	l.Reserve(fn("f", Budget{}), 10, 0, 0)
	c.Advance(24 * time.Hour)
	u, ok := l.Usage("function:f")
	if !ok || u.Invocations != 0 || u.RequestBytes != 0 || !u.WindowStart.Equal(startOf(c.Now(), Day)) {
		t.Fatalf("usage after the day ended %+v", u)
	}
}

// A clock that steps back does not reopen a window, nor reset one.
func TestClockGoingBack(t *testing.T) {
	c := newClock(time.Date(2026, 3, 15, 0, 0, 5, 0, time.UTC))
	l := NewLedger(c.Now, nil)
	subj := fn("f", Budget{Invocations: 1})
	l.Reserve(subj, 0, 0, 0)
	c.Advance(-10 * time.Second)
	if _, err := l.Reserve(subj, 0, 0, 0); err == nil {
		t.Fatal("a clock stepping back reset the budget")
	}
}

func TestOwnerBudgetBlocksAllItsFunctions(t *testing.T) {
	var log alertLog
	l := NewLedger(newClock(epoch).Now, log.add)
	owner := func(name string) Subject {
		return Subject{Name: OwnerSubject(name), Budget: Budget{Window: Month, Invocations: 10}}
	}
	call := func(function, team string) error {
		_, err := l.Reserve([]Subject{{Name: FunctionSubject(function), Budget: Budget{Invocations: 1000}}, owner(team)}, 0, 0, 0)
		return err
	}
	for i := range 10 {
		if err := call([]string{"a1", "a2"}[i%2], "team-a"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for _, f := range []string{"a1", "a2", "a3"} {
		err := call(f, "team-a")
		var ex *ExhaustedError
		if !errors.As(err, &ex) || ex.Subject != "owner:team-a" || ex.Meter != MeterInvocations {
			t.Errorf("%s: %v, want the owner budget refusal", f, err)
		}
	}
	if err := call("b1", "team-b"); err != nil {
		t.Fatalf("another owner's function: %v", err)
	}
	// A refusal by the owner charges nothing to the function.
	if u, _ := l.Usage("function:a1"); u.Invocations != 5 {
		t.Errorf("function:a1 charged %d", u.Invocations)
	}
	if u, _ := l.Usage("function:a3"); u.Invocations != 0 {
		t.Errorf("a refused call was charged to function:a3: %+v", u)
	}
	if got := log.levels("owner:team-a", MeterInvocations); fmt.Sprint(got) != "[80 100]" {
		t.Errorf("owner alerts %v", got)
	}
	if got := log.levels("owner:team-b", MeterInvocations); len(got) != 0 {
		t.Errorf("team-b alerted %v", got)
	}
}

func TestRaisingABudgetTakesEffectAtOnce(t *testing.T) {
	l := NewLedger(newClock(epoch).Now, nil)
	for range 3 {
		l.Reserve(fn("f", Budget{Invocations: 3}), 0, 0, 0)
	}
	if _, err := l.Reserve(fn("f", Budget{Invocations: 3}), 0, 0, 0); err == nil {
		t.Fatal("admitted over the budget")
	}
	if _, err := l.Reserve(fn("f", Budget{Invocations: 4}), 0, 0, 0); err != nil {
		t.Fatalf("the raised budget did not admit: %v", err)
	}
	if _, err := l.Reserve(fn("f", Budget{}), 0, 0, 0); err != nil {
		t.Fatalf("removing the budget did not admit: %v", err)
	}
}

func TestChangingTheWindowKeepsUsage(t *testing.T) {
	l := NewLedger(newClock(epoch).Now, nil)
	for range 3 {
		l.Reserve(fn("f", Budget{Window: Month, Invocations: 100}), 0, 0, 0)
	}
	if _, err := l.Reserve(fn("f", Budget{Window: Day, Invocations: 3}), 0, 0, 0); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("usage was forgotten when the window changed: %v", err)
	}
}

func TestSettle(t *testing.T) {
	c := newClock(epoch)
	l := NewLedger(c.Now, nil)
	subj := fn("f", Budget{ComputeGBs: 1000})
	usage := func() float64 { u, _ := l.Usage("function:f"); return u.ComputeGBs }

	res, err := l.Reserve(subj, 0, gib, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := usage(); got != 10 {
		t.Fatalf("worst case charged %v, want 10", got)
	}
	if got := res.Settle(2500 * time.Millisecond); got != 7.5 {
		t.Fatalf("Settle returned %v, want 7.5", got)
	}
	if got := res.Settle(0); got != 0 {
		t.Fatalf("a second Settle returned %v", got)
	}
	if got := usage(); got != 2.5 {
		t.Fatalf("usage %v after settling, want 2.5", got)
	}

	tests := []struct {
		name       string
		wall       time.Duration
		wantUnused float64
	}{
		{"over the timeout", time.Minute, 0},
		{"exactly the timeout", 10 * time.Second, 0},
		{"negative", -time.Second, 10},
		{"zero", 0, 10},
		{"rounded up to the millisecond", 9999*time.Millisecond + time.Nanosecond, 0},
		{"one millisecond", time.Millisecond, 9.999},
	}
	for _, tt := range tests {
		before := usage()
		res, _ := l.Reserve(subj, 0, gib, 10*time.Second)
		if got := res.Settle(tt.wall); math.Abs(got-tt.wantUnused) > 1e-9 {
			t.Errorf("%s: Settle returned %v, want %v", tt.name, got, tt.wantUnused)
		}
		if got, want := usage()-before, 10-tt.wantUnused; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: charged %v, want %v", tt.name, got, want)
		}
	}

	var nilRes *Reservation
	if got := nilRes.Settle(time.Second); got != 0 {
		t.Errorf("nil Settle returned %v", got)
	}
}

func TestSettleConcurrentlyGivesBackOnce(t *testing.T) {
	l := NewLedger(newClock(epoch).Now, nil)
	res, _ := l.Reserve(fn("f", Budget{}), 0, gib, 10*time.Second)
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { total.Add(int64(res.Settle(0) * 1000)) })
	}
	wg.Wait()
	if got := total.Load(); got != 10000 {
		t.Fatalf("gave back %v GB-s in all", float64(got)/1000)
	}
	if u, _ := l.Usage("function:f"); u.ComputeGBs != 0 {
		t.Fatalf("usage %v", u.ComputeGBs)
	}
}

// A call admitted before midnight and settled after gives nothing back to
// the new day.
func TestSettleAfterTheWindowEnded(t *testing.T) {
	c := newClock(time.Date(2026, 3, 14, 23, 59, 59, 0, time.UTC))
	l := NewLedger(c.Now, nil)
	subj := fn("f", Budget{ComputeGBs: 100})
	late, _ := l.Reserve(subj, 0, gib, 10*time.Second)
	c.Advance(2 * time.Second)
	l.Reserve(subj, 0, gib, 10*time.Second)
	late.Settle(0)
	if u, _ := l.Usage("function:f"); u.ComputeGBs != 10 {
		t.Fatalf("the new day's usage is %v, want 10", u.ComputeGBs)
	}
}

func TestReserveInvalid(t *testing.T) {
	ok := Subject{Name: "function:f"}
	tests := []struct {
		name     string
		subjects []Subject
		bytes    int64
		mem      int64
		timeout  time.Duration
		want     error
	}{
		{"negative bytes", []Subject{ok}, -1, 0, 0, ErrInvalidReservation},
		{"negative memory", []Subject{ok}, 0, -1, 0, ErrInvalidReservation},
		{"negative timeout", []Subject{ok}, 0, 0, -1, ErrInvalidReservation},
		{"unknown window", []Subject{{Name: "f", Budget: Budget{Window: "week", Invocations: 1}}}, 0, 0, 0, ErrInvalidBudget},
		{"negative invocations", []Subject{{Name: "f", Budget: Budget{Invocations: -1}}}, 0, 0, 0, ErrInvalidBudget},
		{"negative bytes budget", []Subject{{Name: "f", Budget: Budget{RequestBytes: -1}}}, 0, 0, 0, ErrInvalidBudget},
		{"negative compute", []Subject{{Name: "f", Budget: Budget{ComputeGBs: -1}}}, 0, 0, 0, ErrInvalidBudget},
		{"NaN compute", []Subject{{Name: "f", Budget: Budget{ComputeGBs: math.NaN()}}}, 0, 0, 0, ErrInvalidBudget},
		{"subject twice", []Subject{ok, ok}, 0, 0, 0, ErrInvalidBudget},
	}
	for _, tt := range tests {
		l := NewLedger(newClock(epoch).Now, nil)
		res, err := l.Reserve(tt.subjects, tt.bytes, tt.mem, tt.timeout)
		if res != nil || !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, res, err, tt.want)
		}
		if len(l.Snapshot()) != 0 {
			t.Errorf("%s: a refused reservation left a record", tt.name)
		}
	}
}

func TestReserveEdgeCases(t *testing.T) {
	l := NewLedger(newClock(epoch).Now, nil)
	if res, err := l.Reserve(nil, 0, 0, 0); err != nil || res == nil {
		t.Fatalf("no subjects: %v", err)
	}
	// Huge values saturate instead of wrapping around to a small charge.
	res, err := l.Reserve(fn("huge", Budget{}), math.MaxInt64, math.MaxInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(fn("huge", Budget{ComputeGBs: 1e6}), 1, gib, time.Second); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("a saturated meter admitted: %v", err)
	}
	res.Settle(time.Second)
	// A budget with no meter set still counts usage.
	l.Reserve(fn("free", Budget{}), 7, gib, time.Second)
	if u, ok := l.Usage("function:free"); !ok || u.Invocations != 1 || u.RequestBytes != 7 || u.ComputeGBs != 1 || u.Window != Day {
		t.Fatalf("usage %+v", u)
	}
	if _, ok := l.Usage("function:never"); ok {
		t.Fatal("usage of an unknown subject")
	}
	l.Forget("function:free")
	if _, ok := l.Usage("function:free"); ok {
		t.Fatal("Forget kept the record")
	}
	// A budget below one unit of compute admits nothing that uses compute.
	if _, err := l.Reserve(fn("tiny", Budget{ComputeGBs: 1e-12}), 0, 1, time.Millisecond); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("a tiny budget admitted: %v", err)
	}
}

func TestExhaustedError(t *testing.T) {
	l := NewLedger(newClock(epoch).Now, nil)
	subj := fn("orders", Budget{Window: Month, RequestBytes: 10})
	_, err := l.Reserve(subj, 11, 0, 0)
	if !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("%v", err)
	}
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Subject != "function:orders" || ex.Meter != MeterRequestBytes || !ex.ResetAt.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", ex)
	}
	if want := "function:orders: request_bytes budget exhausted until 2026-04-01T00:00:00Z"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestSnapshotRestore(t *testing.T) {
	c := newClock(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	var log1 alertLog
	l1 := NewLedger(c.Now, log1.add)
	fnBudget := Budget{Window: Day, Invocations: 5, ComputeGBs: 100}
	ownerBudget := Budget{Window: Month, RequestBytes: 1000}
	subjects := []Subject{{Name: "function:a", Budget: fnBudget}, {Name: "owner:t", Budget: ownerBudget}}
	for range 4 { // 80% of the invocations
		res, err := l1.Reserve(subjects, 100, 300<<20, 1500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		res.Settle(777 * time.Millisecond)
	}
	inFlight, _ := l1.Reserve([]Subject{{Name: "function:b"}}, 0, gib, time.Second)
	_ = inFlight // never settled: its worst case is persisted

	b, err := json.Marshal(l1.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"window":"day"`) || !strings.Contains(s, `"alerted":{"invocations":80}`) {
		t.Fatalf("snapshot JSON %s", s)
	}
	restore := func(now time.Time, raw []byte) *Ledger {
		var snap map[string]Usage
		if err := json.Unmarshal(raw, &snap); err != nil {
			t.Fatal(err)
		}
		l := NewLedger(newClock(now).Now, nil)
		l.Restore(snap)
		return l
	}

	// Later the same day: everything comes back as it was.
	later := c.Now().Add(6 * time.Hour)
	l2 := restore(later, b)
	for _, name := range []string{"function:a", "owner:t", "function:b"} {
		want, _ := l1.Usage(name)
		got, ok := l2.Usage(name)
		if !ok || !sameUsage(got, want) {
			t.Errorf("%s restored as %+v, want %+v", name, got, want)
		}
	}
	// Restoring again counts nothing twice.
	var snap map[string]Usage
	json.Unmarshal(b, &snap)
	l2.Restore(snap)
	if got, _ := l2.Usage("function:a"); got.Invocations != 4 {
		t.Errorf("a second Restore gave %d invocations", got.Invocations)
	}
	// The restored ledger enforces the budget from where it was, and does
	// not repeat the 80% alert.
	var log2 alertLog
	l2.alert = log2.add
	if _, err := l2.Reserve(subjects, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Reserve(subjects, 0, 0, 0); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("the restored usage was not enforced: %v", err)
	}
	if got := log2.levels("function:a", MeterInvocations); fmt.Sprint(got) != "[100]" {
		t.Errorf("alerts after restore %v", got)
	}

	// The next day: the daily usage is stale and dropped, the monthly kept.
	l3 := restore(c.Now().Add(24*time.Hour), b)
	if _, ok := l3.Usage("function:a"); ok {
		t.Error("yesterday's usage was restored")
	}
	if got, _ := l3.Usage("owner:t"); got.RequestBytes != 400 {
		t.Errorf("this month's usage restored as %+v", got)
	}
	// The next month: everything is stale.
	if n := len(restore(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), b).Snapshot()); n != 0 {
		t.Errorf("%d stale entries restored", n)
	}
}

func TestRestoreSanitises(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	today, month := startOf(now, Day), startOf(now, Month)
	l := NewLedger(newClock(now).Now, nil)
	l.Restore(map[string]Usage{
		"unknown window":   {Window: "week", WindowStart: today, Invocations: 5},
		"no window, today": {WindowStart: today, Invocations: 5},
		"no window, month": {WindowStart: month, Invocations: 6},
		"no window, other": {WindowStart: today.Add(time.Hour), Invocations: 7},
		"not a start":      {Window: Day, WindowStart: today.Add(time.Second), Invocations: 8},
		"negative":         {Window: Day, WindowStart: today, Invocations: -5, RequestBytes: -1, ComputeGBs: -3},
		"NaN":              {Window: Day, WindowStart: today, ComputeGBs: math.NaN()},
		"infinite":         {Window: Day, WindowStart: today, ComputeGBs: math.Inf(1)},
		"bad alert level":  {Window: Day, WindowStart: today, Alerted: map[Meter]int{MeterInvocations: 50, "other": 80}},
		"other zone":       {Window: Day, WindowStart: today.In(time.FixedZone("-07", -7*3600)), Invocations: 9},
	})
	want := map[string]Usage{
		"no window, today": {Window: Day, WindowStart: today, Invocations: 5},
		"no window, month": {Window: Month, WindowStart: month, Invocations: 6},
		"negative":         {Window: Day, WindowStart: today},
		"NaN":              {Window: Day, WindowStart: today},
		"infinite":         {Window: Day, WindowStart: today, ComputeGBs: float64(math.MaxInt64) / unitsPerGBs},
		"bad alert level":  {Window: Day, WindowStart: today},
		"other zone":       {Window: Day, WindowStart: today, Invocations: 9},
	}
	got := l.Snapshot()
	if len(got) != len(want) {
		t.Errorf("restored %v", got)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !sameUsage(g, w) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
}

func sameUsage(a, b Usage) bool {
	return a.Window == b.Window && a.WindowStart.Equal(b.WindowStart) && a.Invocations == b.Invocations &&
		a.ComputeGBs == b.ComputeGBs && a.RequestBytes == b.RequestBytes && fmt.Sprint(a.Alerted) == fmt.Sprint(b.Alerted)
}
