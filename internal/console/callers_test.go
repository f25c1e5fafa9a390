package console

import (
	"strconv"
	"testing"

	"github.com/pave-dev/pave/internal/observe"
)

func TestCallerTally(t *testing.T) {
	tally := callerTally{}
	for _, r := range []observe.Record{
		{Caller: "key:ci", Status: 200},
		{Caller: "key:ci", Status: 200},
		{Caller: "key:ci", Status: 429, Code: "rate_limited"},
		{Caller: "jwt:alice", Status: 500, Code: "function_failed"},
		{Source: "203.0.113.9", Status: 401, Code: "unauthenticated"},
		{Source: "203.0.113.9", Status: 401, Code: "unauthenticated"},
		{Status: 200},
	} {
		tally.add(r)
	}
	bars := func(b []hbar) string {
		s := ""
		for _, h := range b {
			s += h.Name + "=" + h.Text + " "
		}
		return s
	}
	if got, want := bars(tally.top(2, false)), "key:ci=3 address 203.0.113.9=2 "; got != want {
		t.Errorf("by calls: %q, want %q", got, want)
	}
	if got, want := bars(tally.top(10, true)), "address 203.0.113.9=2 key:ci=1 "; got != want {
		t.Errorf("by refusals: %q, want %q (failures are no refusals, callers without any are left out)", got, want)
	}

	// A flood of addresses does not grow the tally without bound.
	flood := callerTally{}
	for i := range maxCallers + 100 {
		flood.add(observe.Record{Source: "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250), Status: 401, Code: "unauthenticated"})
	}
	if len(flood) != maxCallers+1 || flood[callerKey{id: "others"}].Refused != 100 {
		t.Errorf("%d callers kept, others %+v", len(flood), flood[callerKey{id: "others"}])
	}
}
