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

// TestDeployOfTheActiveVersionIsANoOp deploys what runs already: no version
// is added, the record is not rewritten, and any change to the module or
// manifest, or a deploy after a rollback, adds one.
func TestDeployOfTheActiveVersionIsANoOp(t *testing.T) {
	r := newEnv(t).registry()
	ctx := context.Background()
	m, text := parse(t, "fn", "GET /fn")
	put := func(module string) registry.Deployment {
		t.Helper()
		digest := registry.Digest([]byte(module))
		if _, err := r.PutBlob(ctx, digest, []byte(module)); err != nil {
			t.Fatal(err)
		}
		return registry.Deployment{Manifest: m, ManifestText: text, Digest: digest, Size: int64(len(module)), Mode: "reactor"}
	}
	changed, _ := parse(t, "fn", "GET /fn", "POST /fn")
	for i, step := range []struct {
		name       string
		d          registry.Deployment
		rollback   bool
		wantAdded  bool
		wantActive int
	}{
		{name: "first", d: put("one"), wantAdded: true, wantActive: 1},
		{name: "again", d: put("one"), wantActive: 1},
		{name: "another module", d: put("two"), wantAdded: true, wantActive: 2},
		{name: "another manifest", d: registry.Deployment{Manifest: changed, ManifestText: text + "  - method: POST\n    path: /fn\n",
			Digest: registry.Digest([]byte("two")), Size: 3, Mode: "reactor"}, wantAdded: true, wantActive: 3},
		{name: "after a rollback to 2, the same as 3", rollback: true, d: registry.Deployment{Manifest: changed, ManifestText: text + "  - method: POST\n    path: /fn\n",
			Digest: registry.Digest([]byte("two")), Size: 3, Mode: "reactor"}, wantAdded: true, wantActive: 4},
		{name: "another compilation", d: func() registry.Deployment { d := put("two"); d.Mode = "command"; return d }(), wantAdded: true, wantActive: 5},
	} {
		if step.rollback {
			if _, err := r.Rollback(ctx, "fn", 0); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := r.Get("fn")
		f, added, err := r.Deploy(ctx, step.d)
		if err != nil {
			t.Fatalf("%d %s: %v", i, step.name, err)
		}
		if added != step.wantAdded || f.Active != step.wantActive || len(f.Versions) != step.wantActive {
			t.Errorf("%s: added %v, active %d of %d versions; want added %v, active %d", step.name, added, f.Active, len(f.Versions), step.wantAdded, step.wantActive)
		}
		if !added && !f.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("%s: a no-op deploy rewrote the record", step.name)
		}
	}
}
