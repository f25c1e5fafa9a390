package console

import (
	"sort"
	"strconv"

	"github.com/pave-dev/pave/internal/observe"
)

// callerName is who made a call: its identity ("key:ci", "jwt:alice"),
// or for a call refused before anyone was identified, the address it
// came from.
func callerName(r observe.Record) string { return keyOf(r).String() }

// callerKey names a caller without building a string per record.
type callerKey struct {
	id   string
	addr bool // id is an address
}

func keyOf(r observe.Record) callerKey {
	switch {
	case r.Caller != "":
		return callerKey{id: r.Caller}
	case r.Source != "":
		return callerKey{id: r.Source, addr: true}
	}
	return callerKey{id: "unidentified"}
}

func (k callerKey) String() string {
	if k.addr {
		return "address " + k.id
	}
	return k.id
}

// callerTally counts calls and refusals by caller.
type callerTally map[callerKey]*callerCount

type callerCount struct{ Calls, Refused int }

// maxCallers bounds the callers counted over a day; calls of further
// callers are counted under "others", so that a flood of addresses
// cannot grow the tally without bound.
const maxCallers = 10000

func (t callerTally) add(r observe.Record) {
	k := keyOf(r)
	cc, ok := t[k]
	if !ok {
		if len(t) >= maxCallers {
			k = callerKey{id: "others"}
		}
		if cc = t[k]; cc == nil {
			cc = &callerCount{}
			t[k] = cc
		}
	}
	cc.Calls++
	if _, refused := observe.RefusalReason(r.Code); refused {
		cc.Refused++
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
	keys := make([]callerKey, 0, len(t))
	for k, c := range t {
		if count(c) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := count(t[keys[i]]), count(t[keys[j]])
		return a > b || a == b && keys[i].String() < keys[j].String()
	})
	class := "calls"
	if byRefusals {
		class = "refused"
	}
	var out []hbar
	for _, k := range keys[:min(n, len(keys))] {
		v := count(t[k])
		out = append(out, hbar{Name: k.String(), Value: float64(v), Text: strconv.Itoa(v), Class: class})
	}
	return out
}
