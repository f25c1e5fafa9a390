package limits

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Window is the period a budget covers.
type Window string

// The budget windows. Both are UTC calendar periods: a day runs from 00:00
// UTC to the next 00:00 UTC, a month from 00:00 UTC on its first day to the
// first day of the next month.
const (
	Day   Window = "day"
	Month Window = "month"
)

// Windows lists every window, in the order messages name them.
var Windows = []Window{Day, Month}

// ErrInvalidWindow is returned by ParseWindow for anything but a window's
// name.
var ErrInvalidWindow = errors.New("want day or month")

// ParseWindow returns the window named s. It is the one reading of a
// window's name: manifests, the budget API and the CLI all use it. The
// error does not quote s.
func ParseWindow(s string) (Window, error) {
	if w := Window(s); slices.Contains(Windows, w) {
		return w, nil
	}
	return "", ErrInvalidWindow
}

// Bounds returns the period of kind w that contains t: a UTC calendar day
// or month, start included and end excluded.
func (w Window) Bounds(t time.Time) (start, end time.Time) {
	y, m, d := t.UTC().Date()
	if w == Month {
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 0, 1)
}

// Meter is one of the quantities a budget limits.
type Meter string

// The meters.
const (
	// MeterInvocations counts admitted invocations.
	MeterInvocations Meter = "invocations"
	// MeterCompute is GB-seconds: the memory limit of the function in GB
	// (2^30 bytes) times the wall time of the call.
	MeterCompute Meter = "compute"
	// MeterRequestBytes counts request body bytes.
	MeterRequestBytes Meter = "request_bytes"
)

const (
	iInvocations = iota
	iCompute
	iRequestBytes
	numMeters
)

var meterNames = [numMeters]Meter{MeterInvocations, MeterCompute, MeterRequestBytes}

// Compute is accounted in integers of MiB x milliseconds, so that sums are
// exact whatever the order of concurrent reservations and settlements.
// Memory is rounded up to whole MiB and time to whole milliseconds, which
// errs toward charging more, never less.
const (
	mib         = 1 << 20
	unitsPerGBs = 1024 * 1000 // MiB·ms in one GB-second
)

// Budget limits the usage of a subject over a window. A zero meter has no
// limit. Window defaults to Day when empty.
//
// It is also the budget a manifest declares and the budget API sets, so
// its JSON form is the stored one.
type Budget struct {
	Window       Window  `json:"window"`
	Invocations  int64   `json:"invocations,omitempty"`
	ComputeGBs   float64 `json:"compute_gb_seconds,omitempty"`
	RequestBytes int64   `json:"request_bytes,omitempty"`
}

// Subject is a function or an owner with its budget, as passed to Reserve.
// Names are "function:<name>" and "owner:<name>" (see FunctionSubject and
// OwnerSubject).
type Subject struct {
	Name   string
	Budget Budget
}

// FunctionSubject returns the subject name of function name.
func FunctionSubject(name string) string { return "function:" + name }

// OwnerSubject returns the subject name of owner.
func OwnerSubject(owner string) string { return "owner:" + owner }

// Usage is what a subject has used in its current window. Compute includes
// the worst case of calls admitted and not yet settled. Alerted records the
// highest alert level (80 or 100) already raised per meter in this window,
// so that a restored ledger does not raise them again.
type Usage struct {
	Window       Window        `json:"window"`
	WindowStart  time.Time     `json:"window_start"`
	Invocations  int64         `json:"invocations"`
	ComputeGBs   float64       `json:"compute_gbs"`
	RequestBytes int64         `json:"request_bytes"`
	Alerted      map[Meter]int `json:"alerted,omitempty"`
}

// Alert reports that a subject's usage of a meter reached a level of its
// budget in the current window: 80 (percent), or 100 when the meter is
// exhausted, meaning it reached its limit or refused a call because the call
// would not fit. Used and Limit are in the meter's unit (invocations,
// GB-seconds, bytes).
type Alert struct {
	Subject     string
	Meter       Meter
	Level       int
	Used, Limit float64
	WindowStart time.Time
}

var (
	// ErrBudgetExhausted is wrapped by *ExhaustedError.
	ErrBudgetExhausted = errors.New("budget exhausted")
	// ErrInvalidBudget means a Budget or the subject list passed to
	// Reserve is malformed: an unknown window, a negative or NaN meter, a
	// subject named twice.
	ErrInvalidBudget = errors.New("invalid budget")
	// ErrInvalidReservation means Reserve was passed a negative size,
	// memory or timeout.
	ErrInvalidReservation = errors.New("invalid reservation")
)

// ExhaustedError is returned by Reserve when admitting a call would take a
// meter of Subject over its budget. ResetAt is the start of the next window.
type ExhaustedError struct {
	Subject string
	Meter   Meter
	ResetAt time.Time
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("%s: %s budget exhausted until %s", e.Subject, e.Meter, e.ResetAt.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrBudgetExhausted.
func (e *ExhaustedError) Unwrap() error { return ErrBudgetExhausted }

// Ledger accounts the usage of functions and owners against their budgets.
// It is safe for concurrent use.
//
// Reserve admits a call only if its worst case fits every budget: one
// invocation, its request bytes, and compute for its memory limit over its
// whole timeout. The worst case is charged at once and the unused part is
// given back when the call is settled, so however many calls are admitted
// concurrently, usage can never pass a budget: the overshoot is zero by
// construction. The price is paid near the end of a compute budget: a call
// whose worst case does not fit in what is left is refused even if it would
// have finished quickly, and calls in flight hold back their worst case
// until they settle. A Reservation that is never settled keeps its worst
// case charged until the window ends.
//
// Budgets are not stored: they are passed with every Reserve, so raising a
// budget takes effect on the next call. Memory is one small record per
// subject ever seen; Forget drops a deleted function's record.
type Ledger struct {
	now    func() time.Time
	alert  func(Alert)
	leaser Leaser // nil: the ledger's budgets are its own

	mu       sync.Mutex
	accounts map[string]*account
}

// account is one subject's usage in its current window.
type account struct {
	window     Window
	start, end time.Time
	used       [numMeters]int64
	alerted    [numMeters]uint8
	// With a Leaser: leased is what this ledger leased of the budget in
	// this window, and onLease what it charged against that (calls
	// admitted, less compute given back); touched is set by every
	// admission and cleared by ReturnLeases.
	leased, onLease [numMeters]int64
	touched         bool
	// dry marks the meters the shared counter last granted less than
	// asked for, with the limit it was asked under, until dryUntil: calls
	// that need more are refused without asking again meanwhile.
	dry      [numMeters]int64
	dryUntil time.Time
	// leasing, while a lease is asked for, is closed when it is over.
	leasing chan struct{}
}

// NewLedger returns an empty ledger reading the time from now (time.Now in
// production) and calling alert, which may be nil, for every Alert. alert
// is called without any lock held, from the goroutine whose Reserve raised
// the alert; two alerts raised by concurrent calls may arrive in either
// order.
func NewLedger(now func() time.Time, alert func(Alert)) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{now: now, alert: alert, accounts: make(map[string]*account)}
}

// Amounts are quantities of the three meters in the ledger's units, in
// the order invocations, compute (MiB x milliseconds), request bytes.
type Amounts [numMeters]int64

// Leaser is a budget counter shared by the ledgers of several nodes. A
// ledger with a Leaser admits a call only within what it leased of each
// budget; when its lease runs short, it leases a slice more (LeaseParts
// of the budget, or the call's cost if larger), and it gives back what an
// idle subject did not use (ReturnLeases). The Leaser grants at most the
// budget in total per window, so the budget holds across all ledgers.
type Leaser interface {
	// Lease grants up to want of each meter of subject's budget in the
	// window starting at start, at most limit in total per meter (a zero
	// limit grants nothing), and returns what it granted.
	Lease(subject string, w Window, start time.Time, limit, want Amounts) (Amounts, error)
	// Return gives back amount leased in the window starting at start.
	Return(subject string, w Window, start time.Time, amount Amounts) error
}

// LeaseParts is the number of slices a budget is leased in: a lease is a
// twentieth of the budget, so a node asks the shared counter about once
// per twentieth of a budget it spends.
const LeaseParts = 20

// ErrLeaseUnavailable means the shared budget counter could not be
// reached; the call is refused (a budget fails closed).
var ErrLeaseUnavailable = errors.New("budget lease unavailable")

// ShareWith makes the ledger lease its budgets from leaser. Call it
// before the first Reserve.
func (l *Ledger) ShareWith(leaser Leaser) { l.leaser = leaser }

// leaseSize is the slice of limit leased at once.
func leaseSize(limit int64) int64 { return max(1, ceilDiv(limit, LeaseParts)) }

// ReturnLeases gives back what each subject leased and has not used: with
// idle set, only for the subjects no call was admitted for since the
// previous ReturnLeases. The daemon calls it every 10 seconds with idle
// set, and at shutdown without.
func (l *Ledger) ReturnLeases(idle bool) error {
	if l.leaser == nil {
		return nil
	}
	type give struct {
		name   string
		window Window
		start  time.Time
		amount Amounts
	}
	var gives []give
	now := l.now()
	l.mu.Lock()
	for name, a := range l.accounts {
		a.roll(now)
		if a.touched && idle {
			a.touched = false
			continue
		}
		var g Amounts
		some := false
		for m := range numMeters {
			if d := a.leased[m] - a.onLease[m]; d > 0 {
				g[m], some = d, true
				a.leased[m] = a.onLease[m]
			}
		}
		if some {
			gives = append(gives, give{name, a.window, a.start, g})
		}
	}
	l.mu.Unlock()
	var errs []error
	for _, g := range gives {
		if err := l.leaser.Return(g.name, g.window, g.start, g.amount); err != nil {
			errs = append(errs, fmt.Errorf("return the lease of %s: %w", g.name, err))
		}
	}
	return errors.Join(errs...)
}

// policy is a Budget checked and converted to the ledger's units.
type policy struct {
	window Window
	budget Budget
	has    [numMeters]bool
	limit  [numMeters]int64
}

func newPolicy(b Budget) (policy, error) {
	p := policy{window: b.Window, budget: b}
	if b.Window == "" {
		p.window = Day
	} else if _, err := ParseWindow(string(b.Window)); err != nil {
		return p, fmt.Errorf("%w: %w", ErrInvalidBudget, err)
	}
	if b.Invocations < 0 || b.RequestBytes < 0 || b.ComputeGBs < 0 || math.IsNaN(b.ComputeGBs) {
		return p, fmt.Errorf("%w: a budget cannot be negative", ErrInvalidBudget)
	}
	if b.Invocations > 0 {
		p.has[iInvocations], p.limit[iInvocations] = true, b.Invocations
	}
	if b.ComputeGBs > 0 {
		// Rounded down: a fraction of a unit is not budget.
		p.has[iCompute], p.limit[iCompute] = true, floatToUnits(math.Floor(b.ComputeGBs*unitsPerGBs))
	}
	if b.RequestBytes > 0 {
		p.has[iRequestBytes], p.limit[iRequestBytes] = true, b.RequestBytes
	}
	return p, nil
}

// limitValue is the limit of meter m in the meter's unit, for alerts.
func (p *policy) limitValue(m int) float64 {
	switch m {
	case iInvocations:
		return float64(p.budget.Invocations)
	case iCompute:
		return p.budget.ComputeGBs
	}
	return float64(p.budget.RequestBytes)
}

// Reservation is an admitted call. Settle it once the call is over.
type Reservation struct {
	l        *Ledger
	memUnits int64 // memory in MiB
	reserved int64 // worst-case compute charged to every subject
	settled  atomic.Bool
	parts    []part
	buf      [2]part
}

// part is the charge to one subject, in the window it was made in.
type part struct {
	acct  *account
	start time.Time
}

// Reserve admits one invocation against the budget of every subject (in
// practice the function and its owner) or refuses it. Admission charges
// one invocation, requestBytes, and the worst-case compute memoryBytes x
// timeout to every subject, all or nothing. It returns an *ExhaustedError
// (wrapping ErrBudgetExhausted) naming the first subject and meter that
// would exceed its budget. The returned Reservation must be settled once the
// call is over, with its actual wall time.
func (l *Ledger) Reserve(subjects []Subject, requestBytes int64, memoryBytes int64, timeout time.Duration) (*Reservation, error) {
	if requestBytes < 0 || memoryBytes < 0 || timeout < 0 {
		return nil, fmt.Errorf("%w: negative request size, memory or timeout", ErrInvalidReservation)
	}
	var pbuf [2]policy
	pols := pbuf[:0]
	for i, s := range subjects {
		p, err := newPolicy(s.Budget)
		if err != nil {
			return nil, fmt.Errorf("budget of %s: %w", s.Name, err)
		}
		for _, prev := range subjects[:i] {
			if prev.Name == s.Name {
				return nil, fmt.Errorf("%w: subject %s named twice", ErrInvalidBudget, s.Name)
			}
		}
		pols = append(pols, p)
	}
	memUnits := ceilDiv(memoryBytes, mib)
	compute := mulSat(memUnits, ceilDiv(int64(timeout), int64(time.Millisecond)))
	cost := [numMeters]int64{1, compute, requestBytes}

	res := &Reservation{l: l, memUnits: memUnits, reserved: compute}
	res.parts = res.buf[:0]
	now := l.now()
	for own := 0; ; {
		alerts, asks, err := l.admit(subjects, pols, cost, now, res, own >= leaseAttempts)
		l.fire(alerts)
		if err != nil || asks == nil {
			if err != nil {
				return nil, err
			}
			return res, nil
		}
		// A lease ran short: lease more, without the lock, and try again
		// (other calls may take what was leased in the meantime).
		for _, ask := range asks {
			leased, err := l.lease(subjects[ask.i].Name, pols[ask.i], ask, now)
			if err != nil {
				return nil, err
			}
			if leased {
				own++
			}
		}
	}
}

// lease tops up the lease of subject name for ask, unless another call
// on this ledger is leasing for it already: then it waits for that one,
// and reports that it leased nothing itself. One lease at a time per
// subject and ledger keeps the writes to the shared counter to about one
// per node at a time, however many calls come at once.
func (l *Ledger) lease(name string, p policy, ask leaseAsk, now time.Time) (bool, error) {
	l.mu.Lock()
	a := l.accounts[name]
	if a == nil || !a.start.Equal(ask.start) || a.window != ask.window {
		l.mu.Unlock()
		return false, nil // another window now: try again in it
	}
	if wait := a.leasing; wait != nil {
		l.mu.Unlock()
		<-wait
		return false, nil
	}
	done := make(chan struct{})
	a.leasing = done
	l.mu.Unlock()
	got, err := l.leaser.Lease(name, ask.window, ask.start, Amounts(p.limit), ask.want)
	l.mu.Lock()
	a.leasing = nil
	close(done)
	// A lease of a window that ended meanwhile is worth nothing.
	if err == nil && a.start.Equal(ask.start) && a.window == ask.window {
		for m := range numMeters {
			a.leased[m] = addSat(a.leased[m], got[m])
			if got[m] < ask.want[m] {
				a.dry[m], a.dryUntil = p.limit[m], now.Add(dryPause)
			}
		}
	}
	l.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("%w: %s: %w", ErrLeaseUnavailable, name, err)
	}
	return true, nil
}

// dryPause is how long a ledger refuses the calls a spent budget's lease
// cannot cover without asking the shared counter again: what idle nodes
// give back, or a raised budget (at once), lets calls in again.
const dryPause = time.Second

// leaseAttempts is how many times a call leases more before a lease still
// short refuses it.
const leaseAttempts = 3

// leaseAsk is a lease subject i needs before a call fits.
type leaseAsk struct {
	i      int
	window Window
	start  time.Time
	want   Amounts
}

// admit charges cost to every subject if it fits their budgets and, with
// a Leaser, their leases. It returns the alerts to fire, and either the
// leases to ask for before trying again (nothing is charged then), or an
// *ExhaustedError. leased means the leases were just topped up: a lease
// still short refuses the call.
func (l *Ledger) admit(subjects []Subject, pols []policy, cost [numMeters]int64, now time.Time, res *Reservation, leased bool) ([]Alert, []leaseAsk, error) {
	var alerts []Alert
	res.parts = res.parts[:0]
	l.mu.Lock()
	defer l.mu.Unlock()
	var asks []leaseAsk
	for i, s := range subjects {
		a := l.account(s.Name, pols[i].window, now)
		var want Amounts
		short := -1
		for m := range numMeters {
			if !pols[i].has[m] {
				continue
			}
			if addSat(a.used[m], cost[m]) > pols[i].limit[m] {
				short = m
				break
			}
			if l.leaser != nil && addSat(a.onLease[m], cost[m]) > a.leased[m] {
				if leased || (a.dry[m] == pols[i].limit[m] && now.Before(a.dryUntil)) {
					short = m
					break
				}
				want[m] = addSat(cost[m], leaseSize(pols[i].limit[m])) - (a.leased[m] - a.onLease[m])
			}
		}
		if short >= 0 {
			alerts = a.check(alerts, s.Name, short, &pols[i], true)
			return alerts, nil, &ExhaustedError{Subject: s.Name, Meter: meterNames[short], ResetAt: a.end}
		}
		if want != (Amounts{}) {
			asks = append(asks, leaseAsk{i: i, window: a.window, start: a.start, want: want})
		}
		res.parts = append(res.parts, part{acct: a, start: a.start})
	}
	if asks != nil {
		return nil, asks, nil
	}
	for i, s := range subjects {
		a := res.parts[i].acct
		a.touched = true
		for m := range numMeters {
			a.used[m] = addSat(a.used[m], cost[m])
			if pols[i].has[m] {
				a.onLease[m] = addSat(a.onLease[m], cost[m])
				alerts = a.check(alerts, s.Name, m, &pols[i], false)
			}
		}
	}
	return alerts, nil, nil
}

// Settle records the end of the call, which ran for wall, and gives back
// the compute reserved but not used, in GB-seconds, which it returns. Wall
// time beyond the timeout is not charged: the reservation was the most the
// call could cost. Only the first Settle counts; later ones return 0. A
// call admitted in a window that has since ended gives nothing back to the
// new window.
func (r *Reservation) Settle(wall time.Duration) (unusedGBs float64) {
	if r == nil || !r.settled.CompareAndSwap(false, true) {
		return 0
	}
	if wall < 0 {
		wall = 0
	}
	actual := mulSat(r.memUnits, ceilDiv(int64(wall), int64(time.Millisecond)))
	if actual >= r.reserved {
		return 0
	}
	unused := r.reserved - actual
	r.l.mu.Lock()
	for _, p := range r.parts {
		if p.acct.start.Equal(p.start) {
			p.acct.used[iCompute] = max(p.acct.used[iCompute]-unused, 0)
			p.acct.onLease[iCompute] = max(p.acct.onLease[iCompute]-unused, 0)
		}
	}
	r.l.mu.Unlock()
	return float64(unused) / unitsPerGBs
}

// account returns the account of name in the window containing now,
// creating or rolling it over as needed. The caller holds l.mu.
func (l *Ledger) account(name string, w Window, now time.Time) *account {
	a := l.accounts[name]
	if a == nil {
		a = &account{window: w}
		a.start, a.end = w.Bounds(now)
		l.accounts[name] = a
		return a
	}
	if a.window != w {
		// The budget changed between day and month. Usage so far is kept
		// and counted in the new window: that may over-count until the
		// window ends, but never lets a call through that the new budget
		// would refuse because earlier usage was forgotten.
		a.window = w
		a.start, a.end = w.Bounds(now)
		a.leased, a.onLease = [numMeters]int64{}, [numMeters]int64{} // leased in the other window
		a.dry = [numMeters]int64{}
		return a
	}
	a.roll(now)
	return a
}

// roll starts a new window when now has passed the end of the current one.
// A clock that goes back does not roll back.
func (a *account) roll(now time.Time) {
	if now.Before(a.end) {
		return
	}
	a.start, a.end = a.window.Bounds(now)
	a.used = [numMeters]int64{}
	a.alerted = [numMeters]uint8{}
	a.leased, a.onLease = [numMeters]int64{}, [numMeters]int64{}
	a.dry = [numMeters]int64{}
}

// check appends the alerts that usage of meter m now calls for. refused
// means the meter has just refused a call. The caller holds the lock.
func (a *account) check(alerts []Alert, name string, m int, p *policy, refused bool) []Alert {
	used, limit := a.used[m], p.limit[m]
	if a.alerted[m] < 80 && reached80(used, limit) {
		a.alerted[m] = 80
		alerts = append(alerts, a.newAlert(name, m, p, 80))
	}
	if a.alerted[m] < 100 && (refused || used >= limit) {
		a.alerted[m] = 100
		alerts = append(alerts, a.newAlert(name, m, p, 100))
	}
	return alerts
}

func (a *account) newAlert(name string, m int, p *policy, level int) Alert {
	return Alert{Subject: name, Meter: meterNames[m], Level: level, Used: meterValue(m, a.used[m]), Limit: p.limitValue(m), WindowStart: a.start}
}

// reached80 reports whether used is at least 80% of limit.
func reached80(used, limit int64) bool {
	if used <= math.MaxInt64/5 && limit <= math.MaxInt64/4 {
		return used*5 >= limit*4
	}
	return float64(used) >= 0.8*float64(limit)
}

func (l *Ledger) fire(alerts []Alert) {
	if l.alert == nil {
		return
	}
	for _, a := range alerts {
		l.alert(a)
	}
}

// Usage returns subject's usage in its current window, and false if the
// ledger has never seen subject.
func (l *Ledger) Usage(subject string) (Usage, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[subject]
	if a == nil {
		return Usage{}, false
	}
	a.roll(now)
	return a.usage(), true
}

// Forget drops subject's record, for a function or owner that no longer
// exists.
func (l *Ledger) Forget(subject string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, subject)
}

func (a *account) usage() Usage {
	u := Usage{
		Window:       a.window,
		WindowStart:  a.start,
		Invocations:  a.used[iInvocations],
		ComputeGBs:   meterValue(iCompute, a.used[iCompute]),
		RequestBytes: a.used[iRequestBytes],
	}
	for m, lvl := range a.alerted {
		if lvl != 0 {
			if u.Alerted == nil {
				u.Alerted = make(map[Meter]int)
			}
			u.Alerted[meterNames[m]] = int(lvl)
		}
	}
	return u
}

// Snapshot returns the usage of every subject in its current window, to be
// persisted (it marshals to JSON) and given to Restore after a restart.
// Compute includes the worst case of calls in flight.
func (l *Ledger) Snapshot() map[string]Usage {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Usage, len(l.accounts))
	for name, a := range l.accounts {
		a.roll(now)
		out[name] = a.usage()
	}
	return out
}

// Restore loads usage saved by Snapshot. Entries from a window that is no
// longer current are dropped, as are entries whose window is unknown. When
// the ledger already has usage for a subject, each meter keeps the larger
// of the two values, so restoring twice counts nothing twice. An entry
// without a Window is kept if its start is the current day's or month's.
func (l *Ledger) Restore(snap map[string]Usage) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, u := range snap {
		w := u.Window
		if w == "" {
			switch {
			case u.WindowStart.Equal(startOf(now, Day)):
				w = Day
			case u.WindowStart.Equal(startOf(now, Month)):
				w = Month
			}
		}
		if w != Day && w != Month {
			continue
		}
		start, end := w.Bounds(now)
		if !u.WindowStart.Equal(start) {
			continue
		}
		a := l.accounts[name]
		if a == nil {
			a = &account{window: w, start: start, end: end}
			l.accounts[name] = a
		} else {
			a.roll(now)
			if a.window != w {
				a.window, a.start, a.end = w, start, end
			}
		}
		restored := [numMeters]int64{max(u.Invocations, 0), gbsToUnits(u.ComputeGBs), max(u.RequestBytes, 0)}
		for m := range numMeters {
			a.used[m] = max(a.used[m], restored[m])
		}
		for meter, lvl := range u.Alerted {
			for m, n := range meterNames {
				if n == meter && (lvl == 80 || lvl == 100) {
					a.alerted[m] = max(a.alerted[m], uint8(lvl))
				}
			}
		}
	}
}

// meterValue converts a meter's internal units to the unit it is reported
// in.
func meterValue(m int, units int64) float64 {
	if m == iCompute {
		return float64(units) / unitsPerGBs
	}
	return float64(units)
}

// gbsToUnits converts restored GB-seconds to units. The tiny allowance
// absorbs the float rounding of a Snapshot round trip, so a restored value
// does not grow by one unit.
func gbsToUnits(g float64) int64 {
	if math.IsNaN(g) || g <= 0 {
		return 0
	}
	return floatToUnits(math.Ceil(g*unitsPerGBs - 1e-6))
}

// floatToUnits converts a whole, non-negative float to int64, saturating.
func floatToUnits(f float64) int64 {
	switch {
	case f <= 0:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(f)
}

// ceilDiv returns a/b rounded up, for a >= 0 and b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// mulSat multiplies non-negative numbers, saturating at math.MaxInt64.
func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// addSat adds non-negative numbers, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// startOf returns the start of the period of kind w that contains t.
func startOf(t time.Time, w Window) time.Time {
	start, _ := w.Bounds(t)
	return start
}
