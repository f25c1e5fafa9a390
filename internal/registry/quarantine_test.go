package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/registry"
)

type lastRuns map[string]time.Time

func (l lastRuns) LastInvoked(name string) (time.Time, bool) { t, ok := l[name]; return t, ok }

// The policy quarantines what has not run for longer than after, counting
// from the deploy when it never ran, and leaves alone what ran since and
// what is already in quarantine.
func TestQuarantineUnused(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	mustDeploy(t, r, "idle", "module-a", "GET /a")
	mustDeploy(t, r, "busy", "module-b", "GET /b")
	mustDeploy(t, r, "fresh", "module-c", "GET /c")
	now := time.Now().Add(48 * time.Hour)
	runs := lastRuns{"idle": time.Now().Add(-time.Hour), "busy": now.Add(-time.Minute)}
	// fresh never ran: it counts from its deploy, two days before now.
	got := r.QuarantineUnused(ctx, runs, now, 24*time.Hour)
	var names []string
	for _, q := range got {
		if q.Err != nil {
			t.Fatalf("%s: %v", q.Function, q.Err)
		}
		names = append(names, q.Function)
	}
	if strings.Join(names, ",") != "fresh,idle" && strings.Join(names, ",") != "idle,fresh" {
		t.Fatalf("quarantined %v, want fresh and idle", names)
	}
	f, _ := r.Get("idle")
	if q := f.Quarantine; q == nil || q.By != registry.AutoQuarantineBy || !q.At.Equal(now.UTC()) ||
		!strings.Contains(q.Reason, "not run since") || !strings.Contains(q.Reason, "--auto-quarantine-after") {
		t.Errorf("quarantine of idle = %+v", q)
	}
	if f, _ := r.Get("busy"); f.Quarantine != nil {
		t.Errorf("busy was quarantined: %+v", f.Quarantine)
	}
	if again := r.QuarantineUnused(ctx, runs, now.Add(time.Hour), 24*time.Hour); len(again) != 0 {
		t.Errorf("a second pass did %+v, want nothing", again)
	}
}
