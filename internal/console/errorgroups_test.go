package console

import (
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
)

func TestNormaliseError(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"database timeout after 30s", "database timeout after <id>"},
		{"order 1234 not found", "order <n> not found"},
		{"order 99 not found", "order <n> not found"},
		{`no such user "alice"`, `no such user "…"`},
		{`no such user 'bob o\'neil'`, `no such user "…"`},
		{"request 3f2a9c1e-0b7d-4c55-9e1a-2b3c4d5e6f70 failed", "request <id> failed"},
		{"object deadbeef42 missing", "object <id> missing"},
		{"key ord_8KfZ2q failed", "key <id> failed"},
		{"took 12.5 ms", "took <n> ms"},
		{"  spaced\tout  ", "spaced out"},
		{"plain words stay", "plain words stay"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "…"}, // cut on a character, not a byte
	} {
		if got := normaliseError(tc.in); got != tc.want {
			t.Errorf("normaliseError(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorGroups(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := func(min int, code string, status int, msg string) observe.Record {
		r := observe.Record{Time: t0.Add(time.Duration(min) * time.Minute), Function: "f", Code: code, Status: status}
		if msg != "" {
			r.Logs = []observe.LogLine{{Level: "info", Msg: "start"}, {Level: "error", Msg: msg}, {Level: "info", Msg: "end"}}
		}
		return r
	}
	g := newErrorGroups()
	for _, r := range []observe.Record{
		rec(1, "function_failed", 500, "order 1 not found"),
		rec(2, "", 200, ""),             // a success
		rec(3, "rate_limited", 429, ""), // a refusal
		rec(4, "function_failed", 500, "order 22 not found"),
		rec(5, "function_timeout", 504, ""),
		rec(6, "function_failed", 500, `bad field "x"`),
		rec(7, "function_failed", 500, "order 333 not found"),
	} {
		g.add(r)
	}
	got := g.list()
	if len(got) != 3 {
		t.Fatalf("%d groups, want 3: %+v", len(got), got)
	}
	first := got[0]
	if first.Code != "function_failed" || first.Kind != "order <n> not found" || first.Count != 3 || first.Example != "order 333 not found" || !first.Last.Time.Equal(t0.Add(7*time.Minute)) {
		t.Errorf("first group %+v", first)
	}
	if got[1].Count != 1 || got[2].Count != 1 {
		t.Errorf("other groups %+v", got[1:])
	}

	many := newErrorGroups()
	for i := range maxErrorGroups + 5 {
		many.add(rec(i, "function_failed", 500, string(rune('a'+i%26))+string(rune('a'+i/26))+" broke"))
	}
	l := many.list()
	if len(l) != maxErrorGroups+1 || l[len(l)-1].Code != "other" || l[len(l)-1].Count != 5 {
		t.Errorf("%d groups, last %+v; want %d and 5 others", len(l), l[len(l)-1], maxErrorGroups+1)
	}
}
