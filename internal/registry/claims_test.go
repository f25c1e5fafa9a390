package registry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
)

// TestClaimsRace deploys two functions claiming one route, and two owners
// taking one topic, through two registries (two nodes) at the same
// moment: in every round exactly one wins. Both registries' caches see
// neither deploy before it is made, so only the claims can tell.
func TestClaimsRace(t *testing.T) {
	e := newEnv(t)
	regs := []*registry.Registry{e.registry(), e.registry()}
	const rounds = 10
	for round := range rounds {
		for _, kind := range []string{"route", "topic"} {
			texts := make([]string, 2)
			for i := range texts {
				name := fmt.Sprintf("%s-%d-%d", kind, round, i)
				if kind == "route" {
					texts[i] = fmt.Sprintf("name: %s\nowner: team-%d\nroutes:\n  - method: GET\n    path: /race/%d/{id}\n", name, i, round)
				} else {
					texts[i] = fmt.Sprintf("name: %s\nowner: team-%d\ntriggers:\n  - topic: race.%d\n", name, i, round)
				}
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, r := range regs {
				m, err := manifest.Parse("pave.yaml", []byte(texts[i]))
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = deployManifest(r, m, texts[i], texts[i])
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, registry.ErrRouteConflict), errors.Is(err, registry.ErrTopicOwned):
				default:
					t.Fatalf("round %d, %s: %v", round, kind, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d, %s: %d deploys won (%v), want exactly 1", round, kind, won, errs)
			}
		}
	}
}

// TestStoredCollision is a store in which two functions' routes collide,
// as versions of pave without claims could leave it: the first function
// keeps the route's claim, only the second function's deploys that still
// collide are refused, and every other deploy goes through.
func TestStoredCollision(t *testing.T) {
	e := newEnv(t)
	old := e.unclaimed() // as a version of pave without claims
	mustDeploy(t, old, "a", "a1", "GET /shared", "GET /a")
	mustDeploy(t, old, "b", "b1", "GET /b")
	// Give b a colliding version behind the claims' back.
	records, err := e.nats.KV(e.ctx, "functions")
	if err != nil {
		t.Fatal(err)
	}
	entry, err := records.Get(e.ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var f registry.Function
	if err := json.Unmarshal(entry.Value, &f); err != nil {
		t.Fatal(err)
	}
	f.Versions[0].Routes = append(f.Versions[0].Routes, manifest.Route{Method: "GET", Path: "/shared"})
	if _, err := records.Put(e.ctx, "b", mustMarshal(t, f)); err != nil {
		t.Fatal(err)
	}
	// The upgrade: the claims bucket starts empty.
	r := e.unclaimed()
	report, err := r.UseClaims(e.ctx, e.claims())
	if err != nil {
		t.Fatal(err)
	}
	if report.Created != 3 || len(report.Collisions) != 1 || !errors.Is(report.Collisions[0], registry.ErrRouteConflict) {
		t.Fatalf("claims migration: created %d, collisions %v; want 3 created (a's two routes, b's /b) and one collision", report.Created, report.Collisions)
	}

	for _, tt := range []struct {
		name, fn string
		routes   []string
		refused  bool
	}{
		{"an unrelated function", "c", []string{"GET /c"}, false},
		{"the first holder again", "a", []string{"GET /shared", "GET /a"}, false},
		{"the colliding function, still colliding", "b", []string{"GET /b", "GET /shared"}, true},
		{"the colliding function, collision gone", "b", []string{"GET /b", "GET /b2"}, false},
		{"the route is still a's", "d", []string{"GET /shared"}, true},
	} {
		_, err := deploy(t, r, tt.fn, tt.fn+" "+tt.name, tt.routes...)
		if refused := errors.Is(err, registry.ErrRouteConflict); refused != tt.refused || (err != nil && !refused) {
			t.Errorf("%s: %v, want refused %v", tt.name, err, tt.refused)
		}
	}
}

// TestStaleClaim is a claim left by a node that stopped between claiming a
// route and recording its function: it blocks the route for claimGrace,
// then another function takes it over.
func TestStaleClaim(t *testing.T) {
	e := newEnv(t)
	r := e.registry()
	claims := e.claims()
	m, _ := parse(t, "ghost", "GET /haunted")
	// The claim's key is found by claiming the route through a real
	// function first.
	mustDeploy(t, r, "probe", "probe", "GET /haunted")
	keys, _, err := claims.Keys(e.ctx, "route.", 100)
	if err != nil || len(keys) != 1 {
		t.Fatalf("claims: %v %v, want one route", keys, err)
	}
	if err := r.Remove(e.ctx, "probe"); err != nil {
		t.Fatal(err)
	}
	put := func(at time.Time) {
		t.Helper()
		v := map[string]any{"kind": "route", "name": m.Routes[0].Pattern(), "functions": []string{"ghost"}, "at": at}
		if _, err := claims.Put(e.ctx, keys[0], mustMarshal(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	put(time.Now())
	if _, err := deploy(t, r, "heir", "heir1", "GET /haunted"); !errors.Is(err, registry.ErrRouteConflict) {
		t.Fatalf("deploy onto a fresh claim of an unrecorded function: %v, want ErrRouteConflict", err)
	}
	put(time.Now().Add(-time.Hour))
	if _, err := deploy(t, r, "heir", "heir2", "GET /haunted"); err != nil {
		t.Fatalf("deploy onto a stale claim: %v", err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
