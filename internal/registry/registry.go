// Package registry keeps the deployed functions: their versions, their
// manifests and the module blobs they point at.
//
// Blobs are content-addressed (sha256) and stored once, whatever number of
// versions use them. A function record holds every version; deploying
// appends one and makes it active (unless it is the active version
// already, which leaves the record as it is), and a rollback only moves
// the active pointer. Records are cached in memory and kept current by watching the
// store, so lookups on the request path never wait for storage, and a change
// made by another node sharing the store shows up here too.
//
// A function in quarantine stays deployed but cannot be invoked; an
// operator puts it there, or the opt-in auto-quarantine policy
// (QuarantineUnused) does when it has not run for long.
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/store"
)

// Records is the key-value storage the registry needs; *store.KV provides it.
type Records interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Delete(ctx context.Context, key string, rev uint64) error
	Watch(ctx context.Context, fn func(store.Entry), ready func()) error
}

// BlobStore keeps module blobs by name; *store.Blobs provides it.
type BlobStore interface {
	Put(ctx context.Context, name string, data []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	Has(ctx context.Context, name string) (bool, error)
}

// Errors callers tell apart.
var (
	ErrNotFound      = errors.New("function not found")
	ErrVersion       = errors.New("no such version")
	ErrRouteConflict = errors.New("route conflict")
	// ErrTopicOwned: the topic's publishers and subscribers have another
	// owner.
	ErrTopicOwned   = errors.New("topic of another owner")
	ErrBadDigest    = errors.New("bad digest")
	ErrBlobNotFound = errors.New("blob not found")
)

// Function is a deployed function and all of its versions.
type Function struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Description string `json:"description,omitempty"`
	Active      int    `json:"active"` // the active version's Number
	// Versions are the last MaxVersions deploys, oldest first. Numbers keep
	// counting up when old versions are dropped.
	Versions  []Version `json:"versions"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Quarantine, when set, disables the function without deleting it:
	// no route, trigger, function or operator can invoke it, so its
	// grants cannot be used, until it is restored.
	Quarantine *Quarantine `json:"quarantine,omitempty"`
}

// Quarantine says who disabled a function, when and why.
type Quarantine struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Version is one deploy of a function.
type Version struct {
	Number        int       `json:"number"`
	Digest        string    `json:"digest"`
	Size          int64     `json:"size"`
	Mode          string    `json:"mode"`
	Isolation     string    `json:"isolation"`
	IsolationNote string    `json:"isolation_note,omitempty"`
	DeployedAt    time.Time `json:"deployed_at"`
	// ManifestDigest names the pave.yaml text in the blob store: kept out
	// of the record, which must stay small (see MaxVersions).
	ManifestDigest string                `json:"manifest_digest"`
	ManifestFile   string                `json:"manifest_file"`
	Owner          string                `json:"owner"`
	Description    string                `json:"description,omitempty"`
	Routes         []manifest.Route      `json:"routes"`
	Limits         manifest.Limits       `json:"limits"`
	RateLimit      manifest.RateLimits   `json:"rate_limit"`
	Budget         *limits.Budget        `json:"budget,omitempty"`
	Capabilities   manifest.Capabilities `json:"capabilities"`
	Triggers       []manifest.Trigger    `json:"triggers,omitempty"`
	Async          manifest.Async        `json:"async"`
}

// MaxVersions is how many versions a function record keeps. With at most
// manifest.MaxRoutes routes per version, it keeps a record well under the
// store's message size limit.
const MaxVersions = 50

// Current returns the active version.
func (f *Function) Current() *Version {
	return f.Version(f.Active)
}

// Version returns version number n, or nil if it is not kept.
func (f *Function) Version(n int) *Version {
	for i := range f.Versions {
		if f.Versions[i].Number == n {
			return &f.Versions[i]
		}
	}
	return nil
}

// Deployment is what a deploy adds.
type Deployment struct {
	Manifest     *manifest.Manifest
	ManifestText string
	Digest       string
	Size         int64
	Mode         string
	Isolation    string
	// IsolationNote says why a reactor runs fresh instead of from a snapshot.
	IsolationNote string
	// Schemas are the compiled-and-checked JSON Schemas of the routes, by
	// the digest their routes' SchemaRefs carry.
	Schemas map[string][]byte
}

// Registry is the function registry. It is safe for concurrent use.
type Registry struct {
	records Records
	blobs   BlobStore
	// claims, once UseClaims set it, holds the route and topic claims
	// (see claims.go); without it, only the cache is checked.
	claims Records
	now    func() time.Time

	writeMu sync.Mutex // serialises deploys so route checks see every change

	mu       sync.RWMutex
	fns      map[string]*Function
	revs     map[string]uint64
	onChange []func()
	admit    func(context.Context, *manifest.Manifest) error
}

// New loads every function and follows changes until ctx is done.
func New(ctx context.Context, records Records, blobs BlobStore) (*Registry, error) {
	r := &Registry{
		records: records,
		blobs:   blobs,
		now:     time.Now,
		fns:     make(map[string]*Function),
		revs:    make(map[string]uint64),
	}
	ready := false
	err := records.Watch(ctx, func(e store.Entry) {
		var f *Function
		if !e.Deleted {
			f = new(Function)
			if err := json.Unmarshal(e.Value, f); err != nil || f.Current() == nil {
				return
			}
		}
		r.set(e.Key, f, e.Revision, ready)
	}, func() { ready = true })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// OnChange registers fn to run after any function is added, changed or
// removed. fn must not block.
func (r *Registry) OnChange(fn func()) {
	r.mu.Lock()
	r.onChange = append(r.onChange, fn)
	r.mu.Unlock()
}

// AdmitWith makes every Deploy call admit with the manifest first, and
// refuse the deploy with admit's error, as it is, if there is one: the
// organisation's policies, checked where every way of deploying ends.
func (r *Registry) AdmitWith(admit func(context.Context, *manifest.Manifest) error) {
	r.writeMu.Lock()
	r.admit = admit
	r.writeMu.Unlock()
}

// set installs f (nil removes) when rev is newer than the cached one.
func (r *Registry) set(name string, f *Function, rev uint64, notify bool) {
	r.mu.Lock()
	if rev <= r.revs[name] {
		r.mu.Unlock()
		return
	}
	r.revs[name] = rev
	if f == nil {
		delete(r.fns, name)
	} else {
		r.fns[name] = f
	}
	hooks := r.onChange
	r.mu.Unlock()
	if notify {
		for _, h := range hooks {
			h()
		}
	}
}

// Get returns the function name. The result must not be modified.
func (r *Registry) Get(name string) (*Function, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.fns[name]
	return f, ok
}

// List returns every function by name. The results must not be modified.
func (r *Registry) List() []*Function {
	r.mu.RLock()
	out := make([]*Function, 0, len(r.fns))
	for _, f := range r.fns {
		out = append(out, f)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Digest returns the content address of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ValidDigest reports whether d is a well-formed content address.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// PutBlob stores data under digest after checking that digest is its hash.
func (r *Registry) PutBlob(ctx context.Context, digest string, data []byte) (created bool, err error) {
	if !ValidDigest(digest) {
		return false, fmt.Errorf("%w: want sha256:<64 lower-case hex digits>", ErrBadDigest)
	}
	if got := Digest(data); got != digest {
		return false, fmt.Errorf("%w: the upload's sha256 is %s", ErrBadDigest, got)
	}
	if ok, err := r.blobs.Has(ctx, blobName(digest)); err != nil || ok {
		return false, err
	}
	return true, r.blobs.Put(ctx, blobName(digest), data)
}

// Manifest returns the pave.yaml text version v was deployed with.
func (r *Registry) Manifest(ctx context.Context, v *Version) (string, error) {
	b, err := r.Blob(ctx, v.ManifestDigest)
	return string(b), err
}

// HasBlob reports whether digest is stored.
func (r *Registry) HasBlob(ctx context.Context, digest string) (bool, error) {
	if !ValidDigest(digest) {
		return false, ErrBadDigest
	}
	return r.blobs.Has(ctx, blobName(digest))
}

// Blob returns the module stored under digest and verifies it on the way
// out, so a corrupted store cannot run unexpected code.
func (r *Registry) Blob(ctx context.Context, digest string) ([]byte, error) {
	if !ValidDigest(digest) {
		return nil, ErrBadDigest
	}
	data, err := r.blobs.Get(ctx, blobName(digest))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrBlobNotFound, digest)
	}
	if err != nil {
		return nil, err
	}
	if Digest(data) != digest {
		return nil, fmt.Errorf("blob %s fails its digest check", digest)
	}
	return data, nil
}

func blobName(digest string) string { return digest[len("sha256:"):] }
