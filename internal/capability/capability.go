// Package capability decides, for every host call a function makes, whether
// its manifest grants it, and carries it out.
//
// A Broker is built once by the daemon with the stores behind each
// capability. For every invocation the gateway asks it for a Session bound
// to the function, its owner and its grants; the host functions (package
// hostapi) call the Session. Everything is denied unless granted: a secret
// not listed, a bucket not listed or listed read-only for a write, are
// refused with hostapi.ErrDenied, counted, and written to the log as an
// audit event. Every use, granted or not, is recorded per function and
// capability, so that a posture report can show grants never used.
//
// Key-value buckets belong to owners: the bucket a grant names is stored
// under a name derived from the owner and the bucket, so a manifest of one
// owner can never reach another owner's data, whatever it names.
package capability

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// Secrets reads secret values; *secrets.Store provides it.
type Secrets interface {
	Get(ctx context.Context, name string, version int) (secret.Value, int, error)
}

// ErrSecretNotFound is what a Secrets implementation's not-found error must
// match (errors.Is) for the guest to see "not found" rather than
// "unavailable"; the daemon adapts its store's error to it.
var ErrSecretNotFound = errors.New("no such secret")

// Bucket is one key-value bucket; *store.KV provides it.
type Bucket interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	Delete(ctx context.Context, key string, rev uint64) error
	Keys(ctx context.Context, prefix string, limit int) ([]string, bool, error)
}

// Buckets opens buckets by their storage name, creating them if needed.
type Buckets interface {
	Bucket(ctx context.Context, name string) (Bucket, error)
}

var _ Bucket = (*store.KV)(nil)

// Limits per invocation.
const (
	MaxCallsPerInvocation = 1000
)

// Broker hands out Sessions and keeps the use counts.
type Broker struct {
	secrets Secrets
	buckets Buckets
	log     *slog.Logger
	now     func() time.Time

	egress    *egress.Client
	invoker   Invoker
	publisher Publisher
	onDeny    func(Denial)

	mu     sync.Mutex
	uses   map[useKey]*Use
	opened map[string]Bucket // by storage name
}

type useKey struct{ function, capability string }

// Use is what a function did with one capability: every call, those
// denied, and those granted that failed (an upstream down, a limit).
type Use struct {
	Calls    int64
	Denials  int64
	Failures int64
	Last     time.Time // last granted use, failed or not
}

// outcome is how one capability call ended.
type outcome int

const (
	succeeded outcome = iota
	denied            // not granted
	failed            // granted, and it failed
)

// Deps are the stores and clients behind the capabilities. A nil one
// makes its capability unavailable (the call fails; it is not denied).
type Deps struct {
	Secrets   Secrets
	Buckets   Buckets
	HTTP      *egress.Client // the http capability
	Publisher Publisher      // the publish capability
	// OnDenial, if set, hears of every denial, for the audit log. It must
	// not block.
	OnDenial func(Denial)
	Log      *slog.Logger
}

// NewBroker returns a Broker over d. The invoke capability's Invoker is
// the one dependency set later, with SetInvoker.
func NewBroker(d Deps) *Broker {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Broker{secrets: d.Secrets, buckets: d.Buckets, egress: d.HTTP, publisher: d.Publisher, onDeny: d.OnDenial,
		log: log, now: time.Now, uses: map[useKey]*Use{}, opened: map[string]Bucket{}}
}

// Uses returns a copy of the use counts, by function and capability.
func (b *Broker) Uses() map[string]map[string]Use {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]map[string]Use{}
	for k, u := range b.uses {
		if out[k.function] == nil {
			out[k.function] = map[string]Use{}
		}
		out[k.function][k.capability] = *u
	}
	return out
}

func (b *Broker) record(function, capability string, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := useKey{function, capability}
	u := b.uses[k]
	if u == nil {
		u = &Use{}
		b.uses[k] = u
	}
	u.Calls++
	switch o {
	case denied:
		u.Denials++
		return
	case failed:
		u.Failures++
	}
	u.Last = b.now()
}

// BucketName is the storage name of owner's bucket: the owner is hashed so
// that any owner string yields a valid, fixed-length name, and two owners
// never share one.
func BucketName(owner, bucket string) string {
	h := sha256.Sum256([]byte(owner))
	return "pave_kv_" + hex.EncodeToString(h[:10]) + "_" + bucket
}

func (b *Broker) bucket(ctx context.Context, name string) (Bucket, error) {
	b.mu.Lock()
	bk, ok := b.opened[name]
	b.mu.Unlock()
	if ok {
		return bk, nil
	}
	if b.buckets == nil {
		return nil, errors.New("no key-value store")
	}
	bk, err := b.buckets.Bucket(ctx, name)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.opened[name] = bk
	b.mu.Unlock()
	return bk, nil
}

// Invocation identifies the invocation a Session serves.
type Invocation struct {
	Function  string
	Owner     string
	RequestID string
	// Caller is the identity the invocation runs for, such as "key:ci";
	// a function it invokes runs for the same caller.
	Caller string
	// Depth is the invocation's call depth: 1 for a call from outside.
	Depth int
	// Calls are the invocations left to the tree the invocation belongs
	// to: an invoke takes one, an event published takes a share.
	Calls *limits.CallTree
}

// Denial is a capability call refused because the manifest does not grant
// it. Resource names what was asked for as the manifest would (never a
// value).
type Denial struct {
	Function, Owner, Capability, Resource, RequestID, Caller string
}

// Session returns the capabilities of one invocation.
func (b *Broker) Session(inv Invocation, grants manifest.Capabilities) *Session {
	return &Session{b: b, inv: inv, grants: grants}
}

// Session is one invocation's capabilities. It is used by one invocation
// at a time.
type Session struct {
	b      *Broker
	inv    Invocation
	grants manifest.Capabilities

	calls   int
	counts  map[string]Count
	secrets []secret.Value  // values read, for redaction
	http    *egress.Session // made on first use
}

var _ hostapi.Capabilities = (*Session)(nil)

// Count is how many calls of one capability an invocation made, how many
// of those were denied, and how many were granted and failed.
type Count struct{ Calls, Denials, Failures int }

// use records a call of capability and how it ended, for the daemon-wide
// use counts and this invocation's.
func (s *Session) use(capability string, o outcome) {
	s.b.record(s.inv.Function, capability, o)
	if s.counts == nil {
		s.counts = map[string]Count{}
	}
	c := s.counts[capability]
	c.Calls++
	switch o {
	case denied:
		c.Denials++
	case failed:
		c.Failures++
	}
	s.counts[capability] = c
}

// Counts returns this invocation's capability calls by capability; nil if
// it made none.
func (s *Session) Counts() map[string]Count { return s.counts }

// SecretsRead returns the secret values this invocation read.
func (s *Session) SecretsRead() []secret.Value { return s.secrets }

// begin counts a call against the per-invocation limit.
func (s *Session) begin() error {
	s.calls++
	if s.calls > MaxCallsPerInvocation {
		return fmt.Errorf("%w: more than %d capability calls in one invocation", hostapi.ErrLimit, MaxCallsPerInvocation)
	}
	return nil
}

// deny records and audits a refused call. what names the resource as the
// manifest would (never a value).
func (s *Session) deny(capability, what string) error {
	s.use(capability, denied)
	if s.b.onDeny != nil {
		s.b.onDeny(Denial{Function: s.inv.Function, Owner: s.inv.Owner, Capability: capability, Resource: what, RequestID: s.inv.RequestID, Caller: s.inv.Caller})
	}
	s.b.log.Warn("capability denied", "audit", true, "function", s.inv.Function, "owner", s.inv.Owner,
		"capability", capability, "resource", what, "request_id", s.inv.RequestID)
	return fmt.Errorf("%w: %s %s is not granted to this function", hostapi.ErrDenied, capability, what)
}

// Secret reads the latest version of a granted secret. The read is
// audited: which function, which secret and version, never the value.
func (s *Session) Secret(ctx context.Context, name string) ([]byte, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	if !slices.Contains(s.grants.Secrets, name) {
		return nil, s.deny(abi.CapabilitySecrets, fmt.Sprintf("%q", truncate(name)))
	}
	s.use(abi.CapabilitySecrets, succeeded)
	if s.b.secrets == nil {
		return nil, errors.New("no secrets store")
	}
	v, version, err := s.b.secrets.Get(ctx, name, 0)
	if errors.Is(err, ErrSecretNotFound) {
		return nil, fmt.Errorf("%w: secret %q is granted but not set", hostapi.ErrNotFound, name)
	}
	if err != nil {
		s.b.log.Error("secret read failed", "function", s.inv.Function, "secret", name, "err", err, "request_id", s.inv.RequestID)
		return nil, err
	}
	s.b.log.Info("secret read", "audit", true, "function", s.inv.Function, "secret", name, "version", version, "request_id", s.inv.RequestID)
	s.secrets = append(s.secrets, v)
	return []byte(v.Reveal()), nil
}

// kvAccess checks a kv call and opens the bucket.
func (s *Session) kvAccess(ctx context.Context, bucket, key string, write, list bool) (Bucket, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	access, ok := s.grants.KV[bucket]
	if !ok || (write && access != manifest.KVWrite) {
		what := fmt.Sprintf("bucket %q", truncate(bucket))
		if ok {
			what += " for writing"
		}
		return nil, s.deny(abi.CapabilityKV, what)
	}
	if !list && !abi.ValidKVKey(key) {
		return nil, fmt.Errorf("%w: keys are 1 to %d letters, digits and - _ = . /", hostapi.ErrInvalid, abi.MaxKVKey)
	}
	s.use(abi.CapabilityKV, succeeded)
	return s.b.bucket(ctx, BucketName(s.inv.Owner, bucket))
}

func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: no such key", hostapi.ErrNotFound)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: the key changed", hostapi.ErrConflict)
	}
	return err
}

// KVGet implements hostapi.Capabilities.
func (s *Session) KVGet(ctx context.Context, bucket, key string) ([]byte, uint64, error) {
	bk, err := s.kvAccess(ctx, bucket, key, false, false)
	if err != nil {
		return nil, 0, err
	}
	e, err := bk.Get(ctx, key)
	if err != nil {
		return nil, 0, mapStoreErr(err)
	}
	return e.Value, e.Revision, nil
}

// KVPut implements hostapi.Capabilities.
func (s *Session) KVPut(ctx context.Context, bucket, key string, value []byte) (uint64, error) {
	bk, err := s.kvAccess(ctx, bucket, key, true, false)
	if err != nil {
		return 0, err
	}
	rev, err := bk.Put(ctx, key, value)
	return rev, mapStoreErr(err)
}

// KVCAS implements hostapi.Capabilities.
func (s *Session) KVCAS(ctx context.Context, bucket, key string, value []byte, revision uint64) (uint64, error) {
	bk, err := s.kvAccess(ctx, bucket, key, true, false)
	if err != nil {
		return 0, err
	}
	var rev uint64
	if revision == 0 {
		rev, err = bk.Create(ctx, key, value)
	} else {
		rev, err = bk.Update(ctx, key, value, revision)
	}
	return rev, mapStoreErr(err)
}

// KVDelete implements hostapi.Capabilities.
func (s *Session) KVDelete(ctx context.Context, bucket, key string) error {
	bk, err := s.kvAccess(ctx, bucket, key, true, false)
	if err != nil {
		return err
	}
	e, err := bk.Get(ctx, key)
	if err != nil {
		return mapStoreErr(err)
	}
	return mapStoreErr(bk.Delete(ctx, key, e.Revision))
}

// KVList implements hostapi.Capabilities.
func (s *Session) KVList(ctx context.Context, bucket, prefix string) ([]string, error) {
	bk, err := s.kvAccess(ctx, bucket, "", false, true)
	if err != nil {
		return nil, err
	}
	if len(prefix) > abi.MaxKVKey {
		return nil, fmt.Errorf("%w: prefix too long", hostapi.ErrInvalid)
	}
	keys, _, err := bk.Keys(ctx, prefix, abi.MaxKVList)
	return keys, mapStoreErr(err)
}

// truncate bounds a guest-supplied name in messages and logs.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Redactor replaces secret values with "[REDACTED]"; package secrets
// provides one, over every stored value.
type Redactor interface {
	String(s string) string
	Bytes(b []byte) []byte
}

// HTTP implements hostapi.Capabilities: the request goes out through the
// egress client, which admits only granted hosts and public addresses.
func (s *Session) HTTP(ctx context.Context, req *abi.Outbound) (*abi.Response, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	if len(s.grants.HTTP) == 0 {
		return nil, s.deny(abi.CapabilityHTTP, "outbound requests")
	}
	if s.b.egress == nil {
		s.use(abi.CapabilityHTTP, failed)
		return nil, errors.New("no egress client")
	}
	if s.http == nil {
		grants := make([]egress.Grant, 0, len(s.grants.HTTP))
		for _, g := range s.grants.HTTP {
			if pg, err := egress.ParseGrant(g); err == nil {
				grants = append(grants, pg)
			}
		}
		s.http = s.b.egress.Session(grants)
	}
	h := http.Header{}
	for _, hd := range req.Headers {
		h.Add(hd.Name, hd.Value)
	}
	resp, err := s.http.Do(ctx, egress.Request{Method: req.Method, URL: req.URL, Header: h, Body: req.Body})
	switch {
	case err == nil:
	case errors.Is(err, egress.ErrNotGranted), errors.Is(err, egress.ErrForbiddenAddress), errors.Is(err, egress.ErrRedirect):
		// The egress errors name the rule, never the response.
		_ = s.deny(abi.CapabilityHTTP, fmt.Sprintf("%q", truncate(err.Error())))
		return nil, fmt.Errorf("%w: %v", hostapi.ErrDenied, err)
	case errors.Is(err, egress.ErrTooManyRequests), errors.Is(err, egress.ErrTooLarge):
		s.use(abi.CapabilityHTTP, failed)
		return nil, fmt.Errorf("%w: %v", hostapi.ErrLimit, err)
	case errors.Is(err, egress.ErrBadRequest):
		s.use(abi.CapabilityHTTP, failed)
		return nil, fmt.Errorf("%w: %v", hostapi.ErrInvalid, err)
	default:
		s.use(abi.CapabilityHTTP, failed)
		return nil, fmt.Errorf("%w: %v", errUpstream, err)
	}
	s.use(abi.CapabilityHTTP, succeeded)
	out := &abi.Response{Status: resp.Status, Body: resp.Body}
	for name, values := range resp.Header {
		for _, v := range values {
			out.Headers = append(out.Headers, abi.Header{Name: name, Value: v})
		}
	}
	return out, nil
}

// errUpstream marks a failure of the remote side, whose message (safe by
// construction in package egress) the guest may read.
var errUpstream = errors.New("upstream")
