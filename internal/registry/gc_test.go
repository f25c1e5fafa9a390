package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/store"
)

// blobStore opens the registry's blob store directly, as another user of
// the bucket (the runtime's artefact cache) does.
func (e *env) blobStore() *store.Blobs {
	e.t.Helper()
	b, err := e.nats.Blobs(e.ctx, "blobs")
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// hexOf is the object name a blob with this content is stored under.
func hexOf(content string) string {
	return strings.TrimPrefix(registry.Digest([]byte(content)), "sha256:")
}

// deployWithSchemas deploys module as function name with a body and a query
// schema on its one route.
func deployWithSchemas(t *testing.T, r *registry.Registry, name, module, body, query string) {
	t.Helper()
	ctx := context.Background()
	m, text := parse(t, name, "POST /"+name)
	bd, qd := registry.Digest([]byte(body)), registry.Digest([]byte(query))
	m.Routes[0].Schema = &manifest.Schemas{Body: &manifest.SchemaRef{Digest: bd}, Query: &manifest.SchemaRef{Digest: qd}}
	data := []byte(module)
	digest := registry.Digest(data)
	if _, err := r.PutBlob(ctx, digest, data); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.Deploy(ctx, registry.Deployment{
		Manifest: m, ManifestText: text, Digest: digest, Size: int64(len(data)), Mode: "reactor",
		Schemas: map[string][]byte{bd: []byte(body), qd: []byte(query)},
	})
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
}

func putBlob(t *testing.T, r *registry.Registry, content string) {
	t.Helper()
	if _, err := r.PutBlob(context.Background(), registry.Digest([]byte(content)), []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// stored returns the names in the blob store with their sizes.
func stored(t *testing.T, b *store.Blobs) map[string]store.BlobInfo {
	t.Helper()
	infos, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]store.BlobInfo, len(infos))
	for _, info := range infos {
		out[info.Name] = info
	}
	return out
}

func collect(t *testing.T, r *registry.Registry, grace time.Duration) registry.GCReport {
	t.Helper()
	rep, err := r.CollectGarbage(context.Background(), grace, runtime.ArtefactModuleDigest)
	if err != nil {
		t.Fatalf("CollectGarbage: %v", err)
	}
	return rep
}

// snapshotFormats returns the name prefixes of the snapshot format the
// runtime reads ("snapshot-vN-") and of the one before it, found through
// runtime.ArtefactModuleDigest so that the test follows the format.
func snapshotFormats(t *testing.T) (current, old string) {
	t.Helper()
	for n := 2; n < 1000; n++ {
		prefix := fmt.Sprintf("snapshot-v%d-", n)
		if digest, ok := runtime.ArtefactModuleDigest(prefix + hexOf("x")); ok && digest != "" {
			return prefix, fmt.Sprintf("snapshot-v%d-", n-1)
		}
	}
	t.Fatal("no snapshot format is read")
	return "", ""
}

func TestCollectGarbage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := e.registry()
	b := e.blobStore()

	// "keep" has three versions, the middle one active after a rollback:
	// an older one (a rollback target) and a newer one stay kept.
	deployWithSchemas(t, r, "keep", "keep v1", `{"title":"keep body"}`, `{"title":"keep query"}`)
	mustDeploy(t, r, "keep", "keep v2", "POST /keep")
	mustDeploy(t, r, "keep", "keep v3", "POST /keep")
	if _, err := r.Rollback(ctx, "keep", 2); err != nil {
		t.Fatal(err)
	}
	// "gone" shares a module with "keep" and is removed.
	deployWithSchemas(t, r, "gone", "gone v1", `{"title":"gone body"}`, `{"title":"keep query"}`)
	mustDeploy(t, r, "gone", "keep v1", "GET /gone/other")
	if err := r.Remove(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	_, goneText := parse(t, "gone", "POST /gone")
	_, goneText2 := parse(t, "gone", "GET /gone/other")
	_, keepText := parse(t, "keep", "POST /keep")

	// Prepared artefacts, and objects garbage collection does not know.
	current, old := snapshotFormats(t)
	artefacts := map[string]bool{ // name: should be collected
		current + hexOf("keep v2"): false, // live module
		current + hexOf("keep v1"): false, // shared with the removed function
		current + hexOf("gone v1"): true,  // removed module
		old + hexOf("keep v2"):     true,  // a format no engine reads
		current + hexOf("never"):   true,  // a module never deployed
	}
	unknown := []string{"notes.txt", strings.ToUpper(hexOf("gone v1")), "sha256:" + hexOf("gone v1"), "snapshot-v1-abc"}
	for name := range artefacts {
		if err := b.Put(ctx, name, []byte("prepared "+name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range unknown {
		if err := b.Put(ctx, name, []byte("not ours")); err != nil {
			t.Fatal(err)
		}
	}
	// Uploaded but not deployed (yet).
	putBlob(t, r, "pending early")

	wantGone := []string{hexOf("gone v1"), hexOf(`{"title":"gone body"}`), hexOf(goneText), hexOf(goneText2), hexOf("pending early")}
	for name, collected := range artefacts {
		if collected {
			wantGone = append(wantGone, name)
		}
	}
	slices.Sort(wantGone)
	wantKept := append([]string{
		hexOf("keep v1"), hexOf("keep v2"), hexOf("keep v3"), hexOf(keepText),
		hexOf(`{"title":"keep body"}`), hexOf(`{"title":"keep query"}`),
	}, unknown...)
	for name, collected := range artefacts {
		if !collected {
			wantKept = append(wantKept, name)
		}
	}

	before := stored(t, b)
	for _, name := range append(slices.Clone(wantGone), wantKept...) {
		if _, ok := before[name]; !ok {
			t.Fatalf("test setup: %s is not stored", name)
		}
	}
	if len(before) != len(wantGone)+len(wantKept) {
		t.Fatalf("test setup: %d objects stored, want %d", len(before), len(wantGone)+len(wantKept))
	}

	// Within the grace period nothing goes.
	if rep := collect(t, r, time.Hour); len(rep.Deleted) != 0 || rep.Bytes != 0 || rep.Kept != len(before) {
		t.Fatalf("within grace: %+v, want nothing deleted and %d kept", rep, len(before))
	}
	if got := stored(t, b); len(got) != len(before) {
		t.Fatalf("within grace: %d objects left of %d", len(got), len(before))
	}

	// A blob uploaded later stays within grace while the earlier ones are
	// past it. The grace period ends between the two uploads.
	time.Sleep(time.Second)
	putBlob(t, r, "pending late")
	wantKept = append(wantKept, hexOf("pending late"))
	now := stored(t, b)
	late, early := now[hexOf("pending late")].ModTime, now[hexOf("pending early")].ModTime
	for _, info := range before {
		if info.ModTime.After(early) {
			early = info.ModTime
		}
	}
	grace := time.Since(late) + late.Sub(early)

	rep := collect(t, r, grace)
	if !slices.Equal(rep.Deleted, wantGone) {
		t.Fatalf("deleted %q\nwant    %q", rep.Deleted, wantGone)
	}
	var bytes int64
	for _, name := range wantGone {
		bytes += before[name].Size
	}
	if rep.Bytes != bytes || rep.Kept != len(wantKept) {
		t.Fatalf("report %+v: want %d bytes freed and %d kept", rep, bytes, len(wantKept))
	}
	after := stored(t, b)
	for _, name := range wantGone {
		if _, ok := after[name]; ok {
			t.Errorf("%s is still stored", name)
		}
	}
	for _, name := range wantKept {
		if _, ok := after[name]; !ok {
			t.Errorf("%s was deleted", name)
		}
	}

	// Every version of the kept function still reads.
	f, _ := r.Get("keep")
	for i := range f.Versions {
		v := &f.Versions[i]
		if _, err := r.Blob(ctx, v.Digest); err != nil {
			t.Errorf("version %d module: %v", v.Number, err)
		}
		if text, err := r.Manifest(ctx, v); err != nil || text != keepText {
			t.Errorf("version %d manifest: %q, %v", v.Number, text, err)
		}
	}

	// Again: nothing more to do.
	if rep := collect(t, r, grace); len(rep.Deleted) != 0 || rep.Bytes != 0 || rep.Kept != len(wantKept) {
		t.Fatalf("second run: %+v, want nothing deleted and %d kept", rep, len(wantKept))
	}
	if rep := collect(t, r, 0); !slices.Equal(rep.Deleted, []string{hexOf("pending late")}) {
		t.Fatalf("past every grace: deleted %q, want only the late upload", rep.Deleted)
	}

	// A collected blob can be uploaded and deployed again.
	if created, err := r.PutBlob(ctx, registry.Digest([]byte("gone v1")), []byte("gone v1")); err != nil || !created {
		t.Fatalf("upload a collected blob again: %v, %v", created, err)
	}
	mustDeploy(t, r, "gone", "gone v1", "POST /gone")
	if rep := collect(t, r, 0); slices.Contains(rep.Deleted, hexOf("gone v1")) || slices.Contains(rep.Deleted, hexOf(goneText)) {
		t.Fatalf("collected the blobs of a redeployed function: %q", rep.Deleted)
	}
}

// TestGCDroppedVersions collects the modules of versions beyond the last
// MaxVersions, which a record no longer keeps.
func TestGCDroppedVersions(t *testing.T) {
	r := newEnv(t).registry()
	total := registry.MaxVersions + 2
	for i := 1; i <= total; i++ {
		mustDeploy(t, r, "busy", fmt.Sprintf("module %d", i), "GET /busy")
	}
	rep := collect(t, r, 0)
	want := []string{hexOf("module 1"), hexOf("module 2")}
	slices.Sort(want)
	if !slices.Equal(rep.Deleted, want) {
		t.Fatalf("deleted %q, want the two dropped modules %q", rep.Deleted, want)
	}
	if rep.Kept != registry.MaxVersions+1 { // the modules kept and the one manifest
		t.Fatalf("kept %d", rep.Kept)
	}
}

// TestGCRefusesUnreadableRecords: a record it cannot read may reference
// any blob, so collection must stop rather than delete.
func TestGCRefusesUnreadableRecords(t *testing.T) {
	e := newEnv(t)
	r := e.registry()
	mustDeploy(t, r, "fn", "module", "GET /fn")
	putBlob(t, r, "orphan")
	records, err := e.nats.KV(e.ctx, "functions")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := records.Put(context.Background(), "odd", []byte(`{"versions":"not a list"}`)); err != nil {
		t.Fatal(err)
	}
	rep, err := r.CollectGarbage(context.Background(), 0, runtime.ArtefactModuleDigest)
	if err == nil || len(rep.Deleted) != 0 {
		t.Fatalf("with an unreadable record: %+v, %v; want an error and nothing deleted", rep, err)
	}
	if ok, err := r.HasBlob(context.Background(), registry.Digest([]byte("orphan"))); err != nil || !ok {
		t.Fatalf("orphan blob after a refused collection: %v, %v", ok, err)
	}
}

// hiddenBlobs is a blob store that cannot list or delete.
type hiddenBlobs struct{ registry.BlobStore }

func TestGCUnsupportedStore(t *testing.T) {
	e := newEnv(t)
	records, err := e.nats.KV(e.ctx, "functions")
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(e.ctx, records, hiddenBlobs{e.blobStore()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CollectGarbage(context.Background(), 0, nil); !errors.Is(err, registry.ErrGCUnsupported) {
		t.Fatalf("CollectGarbage on a store that cannot list: %v", err)
	}
}

// TestGCConcurrentDeploys runs collections with no grace at all while
// functions deploy: a deploy may then fail for want of its module, but a
// recorded version must never reference a deleted blob.
func TestGCConcurrentDeploys(t *testing.T) {
	ctx := context.Background()
	r := newEnv(t).registry()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var gcErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := r.CollectGarbage(ctx, 0, runtime.ArtefactModuleDigest); err != nil {
				gcErr = err
				return
			}
		}
	}()
	type manifestText struct {
		m    *manifest.Manifest
		text string
	}
	var deployers sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 2; w++ {
		name := fmt.Sprintf("fn%d", w)
		var manifests []manifestText
		for i := 0; i < 2; i++ {
			m, text := parse(t, name, fmt.Sprintf("GET /%s/%d", name, i))
			manifests = append(manifests, manifestText{m, text})
		}
		deployers.Add(1)
		go func() {
			defer deployers.Done()
			for i := 0; i < 10; i++ {
				// Reuse modules and manifests so that deploys meet blobs
				// that were garbage a moment before.
				mt := manifests[i%2]
				if _, err := deployManifest(r, mt.m, mt.text, fmt.Sprintf("module %d", i%3)); err != nil && !errors.Is(err, registry.ErrBlobNotFound) {
					errs <- err
				}
				if i == 5 {
					_ = r.Remove(ctx, name)
				}
			}
		}()
	}
	deployers.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("deploy: %v", err)
	}
	if gcErr != nil {
		t.Fatalf("CollectGarbage: %v", gcErr)
	}
	collect(t, r, 0)
	for _, f := range r.List() {
		for i := range f.Versions {
			v := &f.Versions[i]
			if _, err := r.Blob(ctx, v.Digest); err != nil {
				t.Errorf("%s version %d: module: %v", f.Name, v.Number, err)
			}
			if _, err := r.Manifest(ctx, v); err != nil {
				t.Errorf("%s version %d: manifest: %v", f.Name, v.Number, err)
			}
		}
	}
}
