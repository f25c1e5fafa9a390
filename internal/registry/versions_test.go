package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/registry"
)

// TestRecordKeepsTheLastVersions deploys past MaxVersions with large
// manifests: the record must stay storable, keep the newest versions with
// their numbers, and refuse rollbacks to versions it dropped.
func TestRecordKeepsTheLastVersions(t *testing.T) {
	r := newEnv(t).registry()
	ctx := context.Background()
	total := registry.MaxVersions + 10
	// 64 routes and a long description make each manifest several KiB.
	routes := make([]string, 64)
	for i := range routes {
		routes[i] = fmt.Sprintf("GET /r%02d/%s", i, strings.Repeat("x", 40))
	}
	for i := 1; i <= total; i++ {
		mustDeploy(t, r, "busy", fmt.Sprintf("module %d", i), routes...)
	}
	f, _ := r.Get("busy")
	if len(f.Versions) != registry.MaxVersions || f.Active != total {
		t.Fatalf("%d versions kept, active %d", len(f.Versions), f.Active)
	}
	if first := f.Versions[0].Number; first != total-registry.MaxVersions+1 {
		t.Fatalf("oldest kept is %d", first)
	}
	if _, err := r.Rollback(ctx, "busy", 1); !errors.Is(err, registry.ErrVersion) {
		t.Fatalf("rollback to a dropped version: %v", err)
	}
	f, err := r.Rollback(ctx, "busy", 0)
	if err != nil || f.Active != total-1 {
		t.Fatalf("rollback to the previous version: %v %d", err, f.Active)
	}
	text, err := r.Manifest(ctx, f.Current())
	if err != nil || !strings.Contains(text, "name: busy") {
		t.Fatalf("manifest of the active version: %v %q", err, text)
	}
	// The next deploy continues the numbering.
	if f := mustDeploy(t, r, "busy", "module next", routes...); f.Active != total+1 {
		t.Fatalf("next deploy is version %d", f.Active)
	}
}
