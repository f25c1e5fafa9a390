package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/apikey"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// Records is the key-value storage identity needs; *store.KV provides it.
type Records interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Watch(ctx context.Context, fn func(store.Entry), ready func()) error
}

// Errors of authentication (401) and authorisation (403).
var (
	ErrNoCredential = errors.New("no credential")
	ErrUnknownKey   = errors.New("unknown key")
	ErrRevoked      = errors.New("key revoked")
	ErrExpired      = errors.New("key expired")
	ErrNotAllowed   = errors.New("key not allowed for this function")
	ErrScope        = errors.New("key lacks a required scope")
	ErrSource       = errors.New("key not allowed from this address")
)

// Errors of key management.
var (
	ErrKeyExists   = errors.New("a key with this name exists")
	ErrKeyNotFound = errors.New("no key with this name")
	ErrInvalidKey  = errors.New("invalid key request")
)

// Key is an API key's stored record: never the key itself.
type Key struct {
	Name      string     `json:"name"`
	Hash      string     `json:"sha256"`
	Functions []string   `json:"functions"`
	Scopes    []string   `json:"scopes,omitempty"`
	CIDRs     []string   `json:"cidrs,omitempty"` // source networks; none means any
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Caller is the identity string a function sees for this key.
func (k *Key) Caller() string { return "key:" + k.Name }

// Authorize reports whether k may call function at now from the address
// from, on a route that requires scopes. The error names what failed, never
// the key.
func (k *Key) Authorize(function string, scopes []string, from netip.Addr, now time.Time) error {
	switch {
	case k.RevokedAt != nil:
		return ErrRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return ErrExpired
	case !slices.Contains(k.Functions, function):
		return ErrNotAllowed
	}
	for _, s := range scopes {
		if !slices.Contains(k.Scopes, s) {
			return fmt.Errorf("%w %q", ErrScope, s)
		}
	}
	if len(k.CIDRs) > 0 && !k.allowsSource(from) {
		return ErrSource
	}
	return nil
}

// allowsSource reports whether from lies in one of the key's networks. An
// invalid address is in none.
func (k *Key) allowsSource(from netip.Addr) bool {
	from = from.Unmap()
	for _, c := range k.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(from) {
			return true
		}
	}
	return false
}

// KeyOptions are what a new key may do besides calling its functions.
type KeyOptions struct {
	TTL    time.Duration // 0: the key does not expire
	Scopes []string
	CIDRs  []string // source networks such as "10.0.0.0/8" or "192.0.2.7/32"
}

const maxKeyScopes = 32

// check validates o, returning the scopes and networks in canonical form.
func (o KeyOptions) check() (scopes, cidrs []string, err error) {
	if o.TTL < 0 {
		return nil, nil, fmt.Errorf("%w: expiry must be in the future", ErrInvalidKey)
	}
	if len(o.Scopes) > maxKeyScopes || len(o.CIDRs) > maxKeyScopes {
		return nil, nil, fmt.Errorf("%w: at most %d scopes and %d networks", ErrInvalidKey, maxKeyScopes, maxKeyScopes)
	}
	for _, s := range o.Scopes {
		if !apikey.ValidScope(s) {
			return nil, nil, fmt.Errorf("%w: scope %q: use printable ASCII without spaces or quotes", ErrInvalidKey, s)
		}
	}
	for _, c := range o.CIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: network %q: want CIDR notation such as 10.0.0.0/8", ErrInvalidKey, c)
		}
		cidrs = append(cidrs, p.Masked().String())
	}
	scopes = slices.Clone(o.Scopes)
	slices.Sort(scopes)
	slices.Sort(cidrs)
	return slices.Compact(scopes), slices.Compact(cidrs), nil
}

// Keys is the API key store, cached in memory and kept current by watching
// the bucket, so authentication never waits for storage.
type Keys struct {
	records Records
	now     func() time.Time

	mu     sync.RWMutex
	byName map[string]*Key
	byHash map[string]*Key
	revs   map[string]uint64
}

// NewKeys loads every key and follows changes until ctx is done.
func NewKeys(ctx context.Context, records Records) (*Keys, error) {
	k := &Keys{
		records: records,
		now:     time.Now,
		byName:  make(map[string]*Key),
		byHash:  make(map[string]*Key),
		revs:    make(map[string]uint64),
	}
	if err := records.Watch(ctx, k.apply, func() {}); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keys) apply(e store.Entry) {
	var key *Key
	if !e.Deleted {
		key = new(Key)
		if err := json.Unmarshal(e.Value, key); err != nil {
			return // a record this version cannot read authenticates nobody
		}
	}
	k.set(e.Key, key, e.Revision)
}

// set installs key (nil removes) if rev is newer than what is cached.
func (k *Keys) set(name string, key *Key, rev uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if rev <= k.revs[name] {
		return
	}
	k.revs[name] = rev
	if old := k.byName[name]; old != nil {
		delete(k.byHash, old.Hash)
	}
	delete(k.byName, name)
	if key != nil {
		k.byName[name] = key
		k.byHash[key.Hash] = key
	}
}

// Create makes a new key for functions and returns its secret, which is not
// stored and cannot be shown again. A revoked key's name can be reused.
func (k *Keys) Create(ctx context.Context, name string, functions []string, opt KeyOptions) (secret.Value, *Key, error) {
	if !apikey.ValidName(name) {
		return "", nil, fmt.Errorf("%w: name %q must be 1-63 characters of a-z, 0-9, '.', '_', '-'", ErrInvalidKey, name)
	}
	if len(functions) == 0 {
		return "", nil, fmt.Errorf("%w: name at least one function the key may call", ErrInvalidKey)
	}
	scopes, cidrs, err := opt.check()
	if err != nil {
		return "", nil, err
	}
	ttl := opt.TTL
	fns := slices.Clone(functions)
	sort.Strings(fns)
	fns = slices.Compact(fns)
	secret := newSecret(KeyPrefix)
	now := k.now().UTC()
	key := &Key{Name: name, Hash: hashOf(secret.Reveal()), Functions: fns, Scopes: scopes, CIDRs: cidrs, CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		key.ExpiresAt = &exp
	}
	val, err := json.Marshal(key)
	if err != nil {
		return "", nil, err
	}
	var rev uint64
	old, err := k.records.Get(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rev, err = k.records.Create(ctx, name, val)
	case err != nil:
		return "", nil, err
	default:
		var prev Key
		if json.Unmarshal(old.Value, &prev) == nil && prev.RevokedAt == nil {
			return "", nil, fmt.Errorf("%w: %q (revoke it first)", ErrKeyExists, name)
		}
		rev, err = k.records.Update(ctx, name, val, old.Revision)
	}
	if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
		return "", nil, fmt.Errorf("%w: %q", ErrKeyExists, name)
	}
	if err != nil {
		return "", nil, err
	}
	k.set(name, key, rev)
	return secret, key, nil
}

// Revoke marks key name revoked; it stops working at once on this node and
// as soon as the change reaches the others.
func (k *Keys) Revoke(ctx context.Context, name string) error {
	now := k.now().UTC()
	return k.change(ctx, name, func(key *Key) bool {
		if key.RevokedAt == nil {
			key.RevokedAt = &now
		}
		return true
	})
}

// ErrKeyRevoked is returned for changing a revoked key.
var ErrKeyRevoked = errors.New("the key is revoked")

// UpdateFunctions adds the functions in add to those key name may call and
// removes those in remove, keeping its secret, and returns the key as
// changed. A revoked key cannot be changed, and a key must keep at least
// one function: revoke it instead.
func (k *Keys) UpdateFunctions(ctx context.Context, name string, add, remove []string) (*Key, error) {
	if len(add) == 0 && len(remove) == 0 {
		return nil, fmt.Errorf("%w: name functions to add or remove", ErrInvalidKey)
	}
	for _, f := range add {
		if slices.Contains(remove, f) {
			return nil, fmt.Errorf("%w: function %q is both added and removed", ErrInvalidKey, f)
		}
	}
	var out Key
	var refused error
	err := k.change(ctx, name, func(key *Key) bool {
		if key.RevokedAt != nil {
			refused = fmt.Errorf("%w: %q", ErrKeyRevoked, name)
			return false
		}
		fns := slices.DeleteFunc(append(slices.Clone(key.Functions), add...), func(f string) bool { return slices.Contains(remove, f) })
		sort.Strings(fns)
		fns = slices.Compact(fns)
		if len(fns) == 0 {
			refused = fmt.Errorf("%w: key %q would call no function; revoke it instead", ErrInvalidKey, name)
			return false
		}
		key.Functions = fns
		out = *key
		return true
	})
	if err == nil && refused != nil {
		err = refused
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns every key, revoked ones included, by name.
func (k *Keys) List() []Key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]Key, 0, len(k.byName))
	for _, key := range k.byName {
		out = append(out, *key)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Authenticate returns the key whose secret is token. It does not check
// expiry, revocation or scope: that is Key.Authorize, a separate decision
// answered with 403 rather than 401.
func (k *Keys) Authenticate(token string) (*Key, error) {
	if token == "" {
		return nil, ErrNoCredential
	}
	var buf [2 * sha256.Size]byte
	h := appendHash(buf[:0], token)
	k.mu.RLock()
	key := k.byHash[string(h)] // no allocation: the string is only looked up
	k.mu.RUnlock()
	// The map lookup is keyed by the hash, which reveals nothing about the
	// secret; compare once more in constant time for good measure.
	if key == nil || subtle.ConstantTimeCompare([]byte(key.Hash), h) != 1 {
		return nil, ErrUnknownKey
	}
	return key, nil
}

// ForgetFunction removes function from the scope of every key, so that a
// key granted to a removed function does not reach a later function that
// happens to take the same name.
func (k *Keys) ForgetFunction(ctx context.Context, function string) error {
	var errs []error
	for _, key := range k.List() {
		if slices.Contains(key.Functions, function) {
			errs = append(errs, k.change(ctx, key.Name, func(key *Key) bool {
				key.Functions = slices.DeleteFunc(key.Functions, func(f string) bool { return f == function })
				return true
			}))
		}
	}
	return errors.Join(errs...)
}

// change applies fn to the stored key name under optimistic concurrency;
// fn returns false to leave the key as it is.
func (k *Keys) change(ctx context.Context, name string, fn func(*Key) bool) error {
	for {
		e, err := k.records.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrKeyNotFound, name)
		}
		if err != nil {
			return err
		}
		var key Key
		if err := json.Unmarshal(e.Value, &key); err != nil {
			return fmt.Errorf("key record %q: %w", name, err)
		}
		if !fn(&key) {
			return nil
		}
		val, err := json.Marshal(&key)
		if err != nil {
			return err
		}
		rev, err := k.records.Update(ctx, name, val, e.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue // changed under us: read again
		}
		if err != nil {
			return err
		}
		k.set(name, &key, rev)
		return nil
	}
}

// PublishScope is the scope a key needs to publish events to topic over
// HTTP.
func PublishScope(topic string) string { return "publish:" + topic }

// AuthorizePublish reports whether k may publish events to topic at now
// from the address from: it must hold PublishScope(topic). Publishing is
// not calling a function, so the key's functions do not matter.
func (k *Key) AuthorizePublish(topic string, from netip.Addr, now time.Time) error {
	switch {
	case k.RevokedAt != nil:
		return ErrRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return ErrExpired
	case !slices.Contains(k.Scopes, PublishScope(topic)):
		return fmt.Errorf("%w %q", ErrScope, PublishScope(topic))
	case len(k.CIDRs) > 0 && !k.allowsSource(from):
		return ErrSource
	}
	return nil
}

// KeyChange is what Replace sets on a key: its functions, scopes, source
// networks and expiry all at once. The secret stays as it is.
type KeyChange struct {
	Functions []string
	Scopes    []string
	CIDRs     []string
	ExpiresAt *time.Time // nil: the key does not expire
}

// Replace replaces the functions, scopes, networks and expiry of the
// active key name, keeping its secret, so that callers holding it need not
// change anything. A revoked key cannot be changed.
func (k *Keys) Replace(ctx context.Context, name string, c KeyChange) (*Key, error) {
	if len(c.Functions) == 0 {
		return nil, fmt.Errorf("%w: name at least one function the key may call", ErrInvalidKey)
	}
	scopes, cidrs, err := KeyOptions{Scopes: c.Scopes, CIDRs: c.CIDRs}.check()
	if err != nil {
		return nil, err
	}
	fns := slices.Clone(c.Functions)
	sort.Strings(fns)
	fns = slices.Compact(fns)
	var out Key
	revoked := false
	err = k.change(ctx, name, func(key *Key) bool {
		if revoked = key.RevokedAt != nil; revoked {
			return false
		}
		key.Functions, key.Scopes, key.CIDRs = fns, scopes, cidrs
		key.ExpiresAt = nil
		if c.ExpiresAt != nil {
			at := c.ExpiresAt.UTC()
			key.ExpiresAt = &at
		}
		out = *key
		return true
	})
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, fmt.Errorf("%w: key %q is revoked; create it again instead", ErrInvalidKey, name)
	}
	return &out, nil
}
