package console

import (
	"sort"
	"strconv"

	"github.com/pave-dev/pave/internal/observe"
)

// callerName is who made a call: its identity ("key:ci", "jwt:alice"),
// or for a call refused before anyone was identified, the address it
// came from.
func callerName(r observe.Record) string {
	switch {
	case r.Caller != "":
		return r.Caller
	case r.Source != "":
		return "address " + r.Source
	}
	return "unidentified"
}

// callerTally counts calls and refusals by caller.
type callerTally map[string]*callerCount

type callerCount struct{ Calls, Refused int }

// maxCallers bounds the callers counted over a day; calls of further
// callers are counted under "others", so that a flood of addresses
// cannot grow the tally without bound.
const maxCallers = 10000

func (t callerTally) add(r observe.Record) {
	name := callerName(r)
	cc, ok := t[name]
	if !ok {
		if len(t) >= maxCallers {
			name = "others"
			if cc = t[name]; cc == nil {
				cc = &callerCount{}
				t[name] = cc
			}
		} else {
			cc = &callerCount{}
			t[name] = cc
		}
	}
	cc.Calls++
	if _, refused := observe.RefusalReason(r.Code); refused {
		cc.Refused++
	}
}

func (t callerTally) merge(o callerTally) {
	for name, n := range o {
		cc, ok := t[name]
		if !ok {
			cc = &callerCount{}
			t[name] = cc
		}
		cc.Calls += n.Calls
		cc.Refused += n.Refused
	}
}

// topCallers is how many callers the overview's charts show.
const topCallers = 10

// top returns the n callers with the most calls (byRefusals: refusals),
// as bars, most first; callers with none are left out.
func (t callerTally) top(n int, byRefusals bool) []hbar {
	count := func(c *callerCount) int {
		if byRefusals {
			return c.Refused
		}
		return c.Calls
	}
	names := make([]string, 0, len(t))
	for name, c := range t {
		if count(c) > 0 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := count(t[names[i]]), count(t[names[j]])
		return a > b || a == b && names[i] < names[j]
	})
	class := "calls"
	if byRefusals {
		class = "refused"
	}
	var out []hbar
	for _, name := range names[:min(n, len(names))] {
		v := count(t[name])
		out = append(out, hbar{Name: name, Value: float64(v), Text: strconv.Itoa(v), Class: class})
	}
	return out
}
