package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/store"
)

const waitTimeout = 10 * time.Second

// env is a store on an embedded NATS server in a temporary directory.
type env struct {
	t    *testing.T
	nats *store.NATS
	ctx  context.Context // ends before the store closes
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	wctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop) // runs first: watches stop before the store closes
	return &env{t: t, nats: n, ctx: wctx}
}

// registry opens the functions bucket and blob store (again, if another
// registry already did) and loads a registry from them.
func (e *env) registry() *registry.Registry {
	e.t.Helper()
	r := e.unclaimed()
	if _, err := r.UseClaims(e.ctx, e.claims()); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// unclaimed is registry without the claims bucket: its deploys are
// checked against its cache only.
func (e *env) unclaimed() *registry.Registry {
	e.t.Helper()
	records, err := e.nats.KV(e.ctx, "functions")
	if err != nil {
		e.t.Fatal(err)
	}
	blobs, err := e.nats.Blobs(e.ctx, "blobs")
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := registry.New(e.ctx, records, blobs)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// claims opens the claims bucket.
func (e *env) claims() *store.KV {
	e.t.Helper()
	claims, err := e.nats.KV(e.ctx, "claims")
	if err != nil {
		e.t.Fatal(err)
	}
	return claims
}

// parse builds a manifest of function name with the given routes, each
// "METHOD /path".
func parse(t *testing.T, name string, routes ...string) (*manifest.Manifest, string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nowner: team-test\nroutes:\n", name)
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		fmt.Fprintf(&b, "  - method: %s\n    path: %s\n", method, path)
	}
	text := b.String()
	m, err := manifest.Parse(name+"/pave.yaml", []byte(text))
	if err != nil {
		t.Fatalf("manifest:\n%s\n%v", text, err)
	}
	return m, text
}

// deploy stores module and deploys it as function name.
func deploy(t *testing.T, r *registry.Registry, name, module string, routes ...string) (*registry.Function, error) {
	t.Helper()
	m, text := parse(t, name, routes...)
	return deployManifest(r, m, text, module)
}

// deployManifest is deploy for a parsed manifest; it does not use t, so
// that goroutines may call it.
func deployManifest(r *registry.Registry, m *manifest.Manifest, text, module string) (*registry.Function, error) {
	ctx := context.Background()
	data := []byte(module)
	digest := registry.Digest(data)
	if _, err := r.PutBlob(ctx, digest, data); err != nil {
		return nil, err
	}
	f, _, err := r.Deploy(ctx, registry.Deployment{Manifest: m, ManifestText: text, Digest: digest, Size: int64(len(data)), Mode: "reactor"})
	return f, err
}

func mustDeploy(t *testing.T, r *registry.Registry, name, module string, routes ...string) *registry.Function {
	t.Helper()
	f, err := deploy(t, r, name, module, routes...)
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
	return f
}

func TestPutBlob(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	data := []byte("any bytes at all: the registry does not validate wasm")
	good := registry.Digest(data)

	tests := []struct {
		name        string
		digest      string
		wantErr     error
		wantCreated bool
	}{
		{"wrong digest", registry.Digest([]byte("other")), registry.ErrBadDigest, false},
		{"upper-case hex", strings.ToUpper(good[:7]) + strings.ToUpper(good[7:]), registry.ErrBadDigest, false},
		{"upper-case hex only", good[:7] + strings.ToUpper(good[7:]), registry.ErrBadDigest, false},
		{"no algorithm", good[len("sha256:"):], registry.ErrBadDigest, false},
		{"other algorithm", "md5:" + good[len("sha256:"):], registry.ErrBadDigest, false},
		{"short", good[:len(good)-1], registry.ErrBadDigest, false},
		{"long", good + "0", registry.ErrBadDigest, false},
		{"trailing newline", good + "\n", registry.ErrBadDigest, false},
		{"empty", "", registry.ErrBadDigest, false},
		{"path traversal", "sha256:../../" + strings.Repeat("0", 58), registry.ErrBadDigest, false},
		{"correct", good, nil, true},
		{"correct again", good, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := r.PutBlob(ctx, tt.digest, data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("PutBlob(%q) error = %v, want %v", tt.digest, err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
		})
	}

	if ok, err := r.HasBlob(ctx, good); err != nil || !ok {
		t.Fatalf("HasBlob(stored) = %v, %v", ok, err)
	}
	if ok, err := r.HasBlob(ctx, registry.Digest([]byte("other"))); err != nil || ok {
		t.Fatalf("HasBlob(never stored) = %v, %v", ok, err)
	}
	if _, err := r.HasBlob(ctx, "sha256:nope"); !errors.Is(err, registry.ErrBadDigest) {
		t.Fatalf("HasBlob(malformed) = %v, want ErrBadDigest", err)
	}
	if got, err := r.Blob(ctx, good); err != nil || string(got) != string(data) {
		t.Fatalf("Blob = %q, %v", got, err)
	}
	if _, err := r.Blob(ctx, registry.Digest([]byte("other"))); !errors.Is(err, registry.ErrBlobNotFound) {
		t.Fatalf("Blob(never stored) = %v, want ErrBlobNotFound", err)
	}
}

func TestDeployNeedsTheBlob(t *testing.T) {
	r := newEnv(t).registry()
	m, text := parse(t, "fn", "GET /fn")
	_, _, err := r.Deploy(context.Background(), registry.Deployment{Manifest: m, ManifestText: text, Digest: registry.Digest([]byte("never uploaded"))})
	if !errors.Is(err, registry.ErrBlobNotFound) {
		t.Fatalf("Deploy without the blob: %v, want ErrBlobNotFound", err)
	}
	if _, ok := r.Get("fn"); ok {
		t.Fatal("a refused deploy created the function")
	}
}

// TestDeployAdmits checks that Deploy asks the admission function first
// and refuses, with its error as it is and recording nothing, what it
// refuses.
func TestDeployAdmits(t *testing.T) {
	r := newEnv(t).registry()
	refusal := errors.New("refused by the test")
	var asked []string
	r.AdmitWith(func(_ context.Context, m *manifest.Manifest) error {
		asked = append(asked, m.Name)
		if m.Name == "refused" {
			return refusal
		}
		return nil
	})
	if _, err := deploy(t, r, "refused", "module", "GET /refused"); !errors.Is(err, refusal) {
		t.Fatalf("Deploy = %v, want the admission's error", err)
	}
	if _, ok := r.Get("refused"); ok {
		t.Fatal("a refused deploy created the function")
	}
	mustDeploy(t, r, "admitted", "module", "GET /admitted")
	if strings.Join(asked, ",") != "refused,admitted" {
		t.Errorf("admission asked about %v", asked)
	}
}

func TestVersionsAndRollback(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	const n = 4
	for i := 1; i <= n; i++ {
		f := mustDeploy(t, r, "fn", fmt.Sprintf("module %d", i), "GET /fn")
		if f.Active != i || len(f.Versions) != i || f.Current().Number != i {
			t.Fatalf("deploy %d: active %d of %d versions", i, f.Active, len(f.Versions))
		}
	}
	f, _ := r.Get("fn")
	for i, v := range f.Versions {
		if v.Number != i+1 || v.Digest != registry.Digest(fmt.Appendf(nil, "module %d", i+1)) || v.Mode != "reactor" {
			t.Errorf("version %d = number %d digest %s mode %q", i+1, v.Number, v.Digest, v.Mode)
		}
		if len(v.Routes) != 1 || v.Routes[0].Path != "/fn" || v.Owner != "team-test" || v.ManifestFile != "fn/pave.yaml" {
			t.Errorf("version %d does not carry its manifest: %+v", i+1, v)
		}
	}

	tests := []struct {
		version    int
		wantActive int   // after the call
		wantErr    error // nil for success
	}{
		{0, 3, nil},
		{0, 2, nil},
		{n, n, nil},
		{1, 1, nil},
		{0, 1, registry.ErrVersion}, // nothing before version 1
		{n + 1, 1, registry.ErrVersion},
		{-1, 1, registry.ErrVersion},
		{2, 2, nil},
	}
	for _, tt := range tests {
		f, err := r.Rollback(ctx, "fn", tt.version)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Rollback(%d) error = %v, want %v", tt.version, err, tt.wantErr)
			}
		} else if err != nil {
			t.Fatalf("Rollback(%d): %v", tt.version, err)
		} else if f.Active != tt.wantActive {
			t.Fatalf("Rollback(%d) returned active %d, want %d", tt.version, f.Active, tt.wantActive)
		}
		got, _ := r.Get("fn")
		if got.Active != tt.wantActive || got.Current().Number != tt.wantActive || len(got.Versions) != n {
			t.Fatalf("after Rollback(%d): active %d of %d versions, want %d of %d", tt.version, got.Active, len(got.Versions), tt.wantActive, n)
		}
	}
	// A deploy after a rollback appends; it does not overwrite.
	f = mustDeploy(t, r, "fn", "module 5", "GET /fn")
	if f.Active != n+1 || len(f.Versions) != n+1 {
		t.Fatalf("deploy after rollback: active %d of %d", f.Active, len(f.Versions))
	}
	if _, err := r.Rollback(ctx, "missing", 0); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Rollback of an unknown function: %v, want ErrNotFound", err)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	changes := make(chan struct{}, 100)
	r.OnChange(func() { changes <- struct{}{} })
	mustDeploy(t, r, "fn", "m1", "GET /fn")
	mustDeploy(t, r, "fn", "m2", "GET /fn")
	drain(changes)

	if err := r.Remove(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("fn"); ok {
		t.Fatal("Get finds a removed function")
	}
	if len(r.List()) != 0 {
		t.Fatalf("List after Remove = %v", r.List())
	}
	select {
	case <-changes:
	default:
		t.Fatal("Remove did not notify OnChange before returning")
	}
	if err := r.Remove(ctx, "fn"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("second Remove: %v, want ErrNotFound", err)
	}
	if _, err := r.Rollback(ctx, "fn", 1); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Rollback of a removed function: %v, want ErrNotFound", err)
	}
	f := mustDeploy(t, r, "fn", "m3", "GET /fn")
	if f.Active != 1 || len(f.Versions) != 1 || f.Versions[0].Digest != registry.Digest([]byte("m3")) {
		t.Fatalf("redeploy after Remove: active %d of %d versions", f.Active, len(f.Versions))
	}
	// The blobs of removed versions stay.
	if ok, err := r.HasBlob(ctx, registry.Digest([]byte("m1"))); err != nil || !ok {
		t.Fatalf("blob of a removed function: %v, %v", ok, err)
	}
}

func TestRouteConflicts(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	mustDeploy(t, r, "a", "a1", "GET /shared", "GET /users/{id}", "GET /files/{path...}")

	tests := []struct {
		name   string
		fn     string
		routes []string
		want   error
	}{
		{"same path", "b", []string{"GET /shared"}, registry.ErrRouteConflict},
		{"parameter renamed", "b", []string{"GET /users/{uid}"}, registry.ErrRouteConflict},
		{"catch-all renamed", "b", []string{"GET /files/{rest...}"}, registry.ErrRouteConflict},
		{"one of several collides", "b", []string{"GET /b", "GET /shared"}, registry.ErrRouteConflict},
		{"other method", "b", []string{"POST /shared"}, nil},
		{"literal beside a parameter", "c", []string{"GET /users/me"}, nil},
		{"own routes again", "a", []string{"GET /shared", "GET /users/{id}", "GET /files/{path...}"}, nil},
		{"own routes renamed", "a", []string{"GET /shared", "GET /users/{key}"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, existed := r.Get(tt.fn)
			_, err := deploy(t, r, tt.fn, tt.fn+" "+tt.name, tt.routes...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("deploy: %v, want %v", err, tt.want)
			}
			after, exists := r.Get(tt.fn)
			if exists != existed || (existed && after.Active != before.Active) {
				t.Fatal("a refused deploy changed the function")
			}
		})
	}

	// Only active routes count: once a moves off /shared, b may take it,
	// and then a may not roll back onto it.
	a := mustDeploy(t, r, "a", "a-moved", "GET /moved")
	mustDeploy(t, r, "d", "d1", "GET /shared")
	if _, err := r.Rollback(ctx, "a", a.Active-1); !errors.Is(err, registry.ErrRouteConflict) {
		t.Fatalf("rollback onto a taken route: %v, want ErrRouteConflict", err)
	}
	// A removed function's routes are free.
	if err := r.Remove(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback(ctx, "a", a.Active-1); err != nil {
		t.Fatalf("rollback once the route is free: %v", err)
	}
}

// TestTwoRegistriesOneStore is two nodes sharing a store: each sees the
// other's changes through the watch.
func TestTwoRegistriesOneStore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r1 := e.registry()
	mustDeploy(t, r1, "early", "e1", "GET /early")

	r2 := e.registry()
	if f, ok := r2.Get("early"); !ok || f.Active != 1 {
		t.Fatal("a new registry does not load what is stored")
	}
	changed := make(chan struct{}, 1)
	r2.OnChange(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	// await waits until cond holds on r2, checking after every change.
	await := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for !cond() {
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("registry 2 never saw %s", what)
			}
		}
	}

	mustDeploy(t, r1, "fn", "v1", "GET /fn")
	await("the deploy", func() bool { f, ok := r2.Get("fn"); return ok && f.Active == 1 })
	mustDeploy(t, r1, "fn", "v2", "GET /fn")
	await("the second version", func() bool { f, _ := r2.Get("fn"); return f != nil && f.Active == 2 && len(f.Versions) == 2 })
	if _, err := r1.Rollback(ctx, "fn", 1); err != nil {
		t.Fatal(err)
	}
	await("the rollback", func() bool { f, _ := r2.Get("fn"); return f != nil && f.Active == 1 })

	// r2 refuses a route r1's function holds, and builds on r1's versions.
	if _, err := deploy(t, r2, "other", "o1", "GET /fn"); !errors.Is(err, registry.ErrRouteConflict) {
		t.Fatalf("registry 2 deployed over a route of registry 1's function: %v", err)
	}
	f := mustDeploy(t, r2, "fn", "v3", "GET /fn")
	if f.Active != 3 || len(f.Versions) != 3 {
		t.Fatalf("deploy through registry 2: active %d of %d", f.Active, len(f.Versions))
	}

	if err := r1.Remove(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	await("the removal", func() bool { _, ok := r2.Get("fn"); return !ok })
	if _, ok := r2.Get("early"); !ok {
		t.Fatal("removing one function dropped another")
	}
}

// TestConcurrentDeploys deploys one function through two registries at once:
// optimistic concurrency must keep every version, numbered 1 to n.
func TestConcurrentDeploys(t *testing.T) {
	e := newEnv(t)
	regs := []*registry.Registry{e.registry(), e.registry()}
	const each = 4
	m, text := parse(t, "fn", "GET /fn")
	var wg sync.WaitGroup
	errs := make(chan error, len(regs)*each)
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if _, err := deployManifest(r, m, text, fmt.Sprintf("r%d-%d", i, j)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A fresh registry reads the stored record, not a cache.
	f, ok := e.registry().Get("fn")
	if !ok {
		t.Fatal("no function after the deploys")
	}
	if len(f.Versions) != len(regs)*each || f.Active != len(f.Versions) {
		t.Fatalf("active %d of %d versions, want %d of %d", f.Active, len(f.Versions), len(regs)*each, len(regs)*each)
	}
	seen := map[string]bool{}
	for i, v := range f.Versions {
		if v.Number != i+1 {
			t.Errorf("version %d has number %d", i+1, v.Number)
		}
		if seen[v.Digest] {
			t.Errorf("version %d repeats digest %s: a deploy overwrote another", v.Number, v.Digest)
		}
		seen[v.Digest] = true
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestTopicOwners checks the one-owner rule for topics on deploy and on
// rollback.
func TestTopicOwners(t *testing.T) {
	r := newEnv(t).registry()
	ctx := context.Background()
	deployText := func(text string) error {
		m, err := manifest.Parse("pave.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		_, err = deployManifest(r, m, text, text)
		return err
	}
	subscriber := "name: billing\nowner: team-a\ntriggers:\n  - topic: orders.created\n"
	if err := deployText(subscriber); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, text string
		refused    bool
	}{
		{"the same owner subscribes", "name: audit\nowner: team-a\ntriggers:\n  - topic: orders.created\n", false},
		{"another owner subscribes", "name: spy\nowner: team-b\ntriggers:\n  - topic: orders.created\n", true},
		{"another owner publishes", "name: forger\nowner: team-b\ncapabilities:\n  publish: [orders.created]\n", true},
		{"another owner, another topic", "name: other\nowner: team-b\ntriggers:\n  - topic: orders.paid\n", false},
	} {
		err := deployText(tt.text)
		if refused := errors.Is(err, registry.ErrTopicOwned); refused != tt.refused {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// billing drops the trigger, team-b takes the topic, and a rollback
	// of billing to the version with the trigger is refused.
	if err := deployText("name: billing\nowner: team-a\n"); err != nil {
		t.Fatal(err)
	}
	if err := deployText("name: audit\nowner: team-a\n"); err != nil {
		t.Fatal(err)
	}
	if err := deployText("name: spy\nowner: team-b\ntriggers:\n  - topic: orders.created\n"); err != nil {
		t.Fatalf("the topic is free now: %v", err)
	}
	if _, err := r.Rollback(ctx, "billing", 1); !errors.Is(err, registry.ErrTopicOwned) {
		t.Errorf("a rollback onto another owner's topic: %v", err)
	}
}
