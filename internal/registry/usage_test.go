package registry_test

import (
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
)

func (e *env) usage() *registry.Usage {
	e.t.Helper()
	records, err := e.nats.KV(e.ctx, "usage")
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := registry.NewUsage(e.ctx, records)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestUsageCountsAndGrants feeds invocation records: only calls that ran
// count, per day; a granted capability call dates its grant, a denied one
// does not; everything survives a reload from the store.
func TestUsageCountsAndGrants(t *testing.T) {
	e := newEnv(t)
	u := e.usage()
	now := time.Now().UTC()
	yesterday := now.AddDate(0, 0, -1)
	long := now.AddDate(0, 0, -10)
	for _, r := range []observe.Record{
		{Function: "orders", Digest: "sha256:a", Time: now, Status: 200},
		{Function: "orders", Digest: "sha256:a", Time: now, Status: 502, Code: "function_failed"},
		{Function: "orders", Digest: "sha256:a", Time: yesterday, Status: 200, Capabilities: map[string]observe.CapabilityCount{"kv": {Calls: 2}, "secrets": {Calls: 1, Denials: 1}}},
		{Function: "orders", Digest: "sha256:a", Time: long, Status: 200},
		{Function: "orders", Time: now, Status: 202},                             // queued: did not run
		{Function: "orders", Time: now, Status: 200, Route: "async call status"}, // a status read: did not run
		{Function: "orders", Time: now, Status: 429, Code: "rate_limited"},       // refused: did not run
		{Function: "orders", Time: now, Status: 401, Code: "unauthenticated"},    // refused
		{Function: "", Time: now, Status: 404, Code: "route_not_found"},
	} {
		u.Observe(r)
	}
	check := func(u *registry.Usage) {
		t.Helper()
		if n := u.Invocations("orders", 1); n != 2 {
			t.Errorf("today: %d, want 2", n)
		}
		if n := u.Invocations("orders", 7); n != 3 {
			t.Errorf("7 days: %d, want 3", n)
		}
		if n := u.Invocations("orders", 30); n != 4 {
			t.Errorf("30 days: %d, want 4", n)
		}
		f := u.Of("orders")
		if !f.Grants["kv"].Equal(yesterday) {
			t.Errorf("kv last used %v, want %v", f.Grants["kv"], yesterday)
		}
		if _, used := f.Grants["secrets"]; used {
			t.Error("a denied call counted as a use of the grant")
		}
	}
	check(u)
	if err := u.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	check(e.usage())
}

// A record written by an earlier version, a bare time, still reads.
func TestUsageReadsTheOldFormat(t *testing.T) {
	e := newEnv(t)
	records, err := e.nats.KV(e.ctx, "usage")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	b, _ := at.MarshalText()
	if _, err := records.Put(e.ctx, "hello", b); err != nil {
		t.Fatal(err)
	}
	if got, ok := e.usage().LastInvoked("hello"); !ok || !got.Equal(at) {
		t.Errorf("LastInvoked = %v, %v; want %v", got, ok, at)
	}
}
