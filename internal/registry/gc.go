package registry

// Garbage collection. Blobs are stored once and shared, so neither dropping
// a version beyond MaxVersions nor removing a function may delete one: some
// other version may use it. CollectGarbage instead works out, from every
// kept version of every function, which blobs are still referenced, and
// deletes the others once they are older than a grace period. The grace
// period covers the one legitimate unreferenced state: a blob uploaded for a
// deploy that has not been recorded yet.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// BlobCollector is what garbage collection needs of the blob store on top
// of BlobStore; *store.Blobs provides it.
type BlobCollector interface {
	List(ctx context.Context) ([]store.BlobInfo, error)
	Delete(ctx context.Context, name string) error
}

// ErrGCUnsupported means the registry's blob store cannot list or delete.
var ErrGCUnsupported = errors.New("blob store cannot list or delete blobs")

// GCReport says what a garbage collection did.
type GCReport struct {
	// Deleted are the names of the objects deleted, in name order.
	Deleted []string
	// Bytes is the total size of the deleted objects.
	Bytes int64
	// Kept counts the objects left: referenced, younger than the grace
	// period, or of a kind garbage collection does not know.
	Kept int
}

// CollectGarbage deletes blobs that no kept version of any function
// references, and runtime artefacts whose module is no longer referenced,
// if they are older than grace, so that a deploy in progress (blob uploaded,
// version not yet recorded) never loses its blob. isArtefactOf maps an
// artefact's object name to the digest of the module it was prepared from
// (an empty digest marks an artefact no module needs); nil means there are
// no artefacts. Objects that are neither a digest-named blob nor an
// artefact are left alone.
//
// It holds the registry's write lock while it decides and deletes, so a
// deploy or rollback through this registry either completes before and
// keeps its blobs, or starts after and finds a deleted blob missing (and
// says to upload it again). The referenced set is read from the store as
// well as from this registry's view, so versions written by another
// registry sharing the store count too. A function record that cannot be
// read makes it give up rather than guess.
//
// If it fails part way, the report says what was deleted until then.
func (r *Registry) CollectGarbage(ctx context.Context, grace time.Duration, isArtefactOf func(name string) (moduleDigest string, ok bool)) (GCReport, error) {
	var report GCReport
	blobs, ok := r.blobs.(BlobCollector)
	if !ok {
		return report, ErrGCUnsupported
	}
	if grace < 0 {
		grace = 0
	}
	// Listed before the lock: an object stored after this is not a
	// candidate, and one referenced after it is caught by the referenced
	// set, which is taken under the lock.
	objects, err := blobs.List(ctx)
	if err != nil {
		return report, err
	}

	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	referenced, err := r.referenced(ctx)
	if err != nil {
		return report, err
	}
	cutoff := r.now().Add(-grace)
	for _, o := range objects {
		if err := ctx.Err(); err != nil {
			return report, err
		}
		var inUse bool
		switch d, kind := classify(o.Name, isArtefactOf); kind {
		case kindBlob:
			inUse = referenced[d]
		case kindArtefact:
			inUse = d != "" && referenced[d]
		default:
			inUse = true
		}
		if inUse || o.ModTime.After(cutoff) {
			report.Kept++
			continue
		}
		err := blobs.Delete(ctx, o.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile, by another node's collection
		}
		if err != nil {
			return report, fmt.Errorf("delete %s: %w", o.Name, err)
		}
		report.Deleted = append(report.Deleted, o.Name)
		report.Bytes += o.Size
	}
	return report, nil
}

type objectKind int

const (
	kindOther objectKind = iota
	kindBlob
	kindArtefact
)

// classify tells what an object name is, and the digest it stands for: its
// own for a blob, its module's for an artefact.
func classify(name string, isArtefactOf func(string) (string, bool)) (string, objectKind) {
	if d := "sha256:" + name; ValidDigest(d) {
		return d, kindBlob
	}
	if isArtefactOf != nil {
		if d, ok := isArtefactOf(name); ok {
			return d, kindArtefact
		}
	}
	return "", kindOther
}

// referenced returns every digest a kept version of a function uses: its
// module, its manifest and its routes' schemas. It reads every record from
// the store and adds this registry's view, which a deploy through it has
// already updated.
func (r *Registry) referenced(ctx context.Context) (map[string]bool, error) {
	refs := make(map[string]bool)
	for _, f := range r.List() {
		addRefs(refs, f)
	}

	// A watch replays every current record before it returns; changes
	// delivered after that are not needed (the write lock is held, and
	// another node's later writes are seen by its own collection).
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		replay  = true
		readErr error
	)
	err := r.records.Watch(wctx, func(e store.Entry) {
		mu.Lock()
		defer mu.Unlock()
		if !replay || e.Deleted || readErr != nil {
			return
		}
		var f Function
		if err := json.Unmarshal(e.Value, &f); err != nil {
			readErr = fmt.Errorf("garbage collection stopped: function record %q: %w", e.Key, err)
			return
		}
		addRefs(refs, &f)
	}, func() {
		mu.Lock()
		replay = false
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		return nil, readErr
	}
	return refs, nil
}

func addRefs(refs map[string]bool, f *Function) {
	for i := range f.Versions {
		v := &f.Versions[i]
		refs[v.Digest] = true
		refs[v.ManifestDigest] = true
		for j := range v.Routes {
			for _, s := range v.Routes[j].SchemaRefs() {
				refs[s.Digest] = true
			}
		}
		for _, t := range v.Triggers {
			if t.Schema != nil {
				refs[t.Schema.Digest] = true
			}
		}
	}
}
