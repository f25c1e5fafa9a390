// Package secrets is pave's encrypted secrets store, and the Redactor that
// keeps secret values out of function logs, errors and responses. The
// store keeps a Redactor over every value it holds current as secrets are
// set and removed (Store.Redactor, Store.Watch).
//
// Operators set secrets (`pave secret set NAME`, the value from stdin or a
// file); functions read the ones their manifest grants. The store keeps the
// values in a key-value bucket of the JetStream store, encrypted, so that
// the store's files, its backups and anyone who can read the bucket learn
// nothing but names, version numbers and times.
//
// Envelope encryption. Each version of a secret gets its own random 256-bit
// data key. The value is sealed with AES-256-GCM under that key, with a
// random 96-bit nonce; the data key is then wrapped, also with AES-256-GCM,
// by a key derived from the master key. Why:
//
//   - A data key encrypts exactly one value, so nonce reuse and the amount
//     of data under one key are not concerns however long pave runs.
//   - Rotating the master key re-wraps 32-byte data keys; the values are
//     never decrypted and re-encrypted in bulk (see Store.RotateMaster).
//   - The additional data of a value binds it to (secret name, version
//     number, format version), and that of a wrapped data key to (name,
//     version, master key ID). Someone who can write the bucket can still
//     delete records or put back an older record, but cannot move a
//     ciphertext to another secret or version: it fails to open, with
//     ErrCorrupt. A flipped bit anywhere in a ciphertext, nonce or wrapped
//     key fails the same way. GCM's tag means the store never returns a
//     wrong plaintext.
//
// The master key. It is 32 random bytes kept outside the JetStream store:
// whoever holds a copy of the bucket (a backup, an external NATS cluster's
// operator) must not also hold the key. It comes from a file of mode 0600
// (LoadOrCreateMasterKey creates one on first use and refuses links,
// non-regular files and files other users may access) or from base64 the
// daemon reads from its environment (ParseMasterKey; this package never
// reads the environment itself). Every wrapped data key records the ID of
// its master key (the first 8 bytes of the key's SHA-256, in hex), so a
// daemon started with the wrong key fails closed with ErrWrongMasterKey and
// a message naming both IDs, instead of failing as if the data were
// damaged. A MasterKey prints only its ID and has no accessor for its
// bytes.
//
// Records. One key per secret, "s.<name>" with every "." of the name written
// as "=" (NATS keys may not contain "..", nor begin or end with "."),
// holding JSON: the name, its versions (number, created_at, master_id,
// wrapped_dk, nonce, ciphertext; byte fields in base64), created_at and
// rotated_at (when the latest version was set). A record keeps at most
// MaxVersions versions, dropping the oldest, and fewer when the values are
// large, so that it stays within one NATS message (1 MiB by default).
// Updates are compare-and-swap on the record's revision, retried on
// conflict, so concurrent writers never lose a version.
//
// Values never leave the package except through Store.Get: List returns
// names, version numbers and times; errors name secrets and versions but
// never carry values or key bytes.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// Limits on names, values and records.
const (
	// MaxNameLen is the longest secret name.
	MaxNameLen = 128
	// MaxValueLen is the largest secret value, 64 KiB.
	MaxValueLen = 64 << 10
	// MaxVersions is the most versions a secret keeps; setting another
	// drops the oldest.
	MaxVersions = 20

	// maxRecordLen keeps a record well inside NATS's default maximum
	// message size of 1 MiB. It fits 8 versions of a value of MaxValueLen.
	maxRecordLen = 768 << 10
	// maxVersionNumber keeps version numbers far from overflow anywhere.
	maxVersionNumber = 1<<31 - 1
	// maxAttempts bounds the compare-and-swap retries of one change.
	maxAttempts = 32
	keyPrefix   = "s."
)

// Errors callers match with errors.Is.
var (
	// ErrNotFound means there is no such secret, or no such version of it.
	ErrNotFound = errors.New("secret not found")
	// ErrInvalidName means a name does not match
	// ^[A-Za-z][A-Za-z0-9_.-]{0,127}$.
	ErrInvalidName = errors.New("invalid secret name")
	// ErrInvalidValue means a value is empty or longer than MaxValueLen.
	ErrInvalidValue = errors.New("invalid secret value")
	// ErrWrongMasterKey means a version was sealed under a master key this
	// Store does not hold. The message names both key IDs.
	ErrWrongMasterKey = errors.New("wrong master key")
	// ErrCorrupt means a stored record is malformed, or a ciphertext failed
	// authentication: it was damaged, altered or moved.
	ErrCorrupt = errors.New("secret record is corrupt")
)

// Records is the key-value bucket the secrets live in; *store.KV provides
// all of it but Keys.
type Records interface {
	Get(ctx context.Context, key string) (store.Entry, error)
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	Delete(ctx context.Context, key string, rev uint64) error
	// Keys returns the keys of the entries that exist (not deleted). Keys
	// other than those of secrets are ignored.
	Keys(ctx context.Context) ([]string, error)
}

// Store reads and writes encrypted secrets. Its methods are safe for
// concurrent use.
type Store struct {
	records Records
	now     func() time.Time

	// ring is replaced whole, so a reader works with one consistent set of
	// keys without locking.
	ring atomic.Pointer[keyring]
	// writers is held shared by Set and exclusively by RotateMaster, so no
	// version can be sealed under the old key once a rotation has passed
	// its record.
	writers sync.RWMutex
	// index keeps the Redactor over every stored value (index.go).
	index index
	// latest keeps the newest version of each secret while a watch keeps
	// it current (latest.go).
	latest latest
}

// Info describes a secret without its value.
type Info struct {
	Name      string        `json:"name"`
	Versions  []VersionInfo `json:"versions"`
	CreatedAt time.Time     `json:"created_at"`
	RotatedAt time.Time     `json:"rotated_at"`
}

// VersionInfo describes one version of a secret.
type VersionInfo struct {
	Number    int       `json:"number"`
	CreatedAt time.Time `json:"created_at"`
	// MasterKeyID is the ID of the master key that wraps this version.
	MasterKeyID string `json:"master_key_id"`
}

// NewStore returns a Store keeping secrets in records, sealing them under
// master. now is the clock (time.Now when nil). It panics without a master
// key (nil, or not made by this package).
func NewStore(records Records, master *MasterKey, now func() time.Time) *Store {
	if master == nil || master.aead == nil {
		panic("secrets: NewStore needs a master key")
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{records: records, now: now}
	s.ring.Store(&keyring{current: master})
	return s
}

// MasterKeyID returns the ID of the master key that seals new versions.
func (s *Store) MasterKeyID() string { return s.ring.Load().current.id }

// ValidName reports whether name may name a secret.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isLetter(c) && (c < '0' || c > '9') && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func checkName(name string) error {
	if ValidName(name) {
		return nil
	}
	// A name that fails may be a value pasted in the wrong place: do not
	// repeat it.
	return fmt.Errorf("%w: a name is 1 to %d letters, digits, '_', '.' or '-', starting with a letter", ErrInvalidName, MaxNameLen)
}

func checkValue(v secret.Value) error {
	switch {
	case len(v) == 0:
		return fmt.Errorf("%w: the value is empty", ErrInvalidValue)
	case len(v) > MaxValueLen:
		return fmt.Errorf("%w: the value is longer than %d bytes", ErrInvalidValue, MaxValueLen)
	}
	return nil
}

// recordKey returns the bucket key of a valid name.
func recordKey(name string) string {
	return keyPrefix + strings.ReplaceAll(name, ".", "=")
}

// nameOf reverses recordKey; ok is false for keys that are not secrets'.
func nameOf(key string) (name string, ok bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return "", false
	}
	name = strings.ReplaceAll(rest, "=", ".")
	return name, ValidName(name) && recordKey(name) == key
}

// Set stores value as a new version of the secret name, creating the secret
// if needed, and returns the new version's number (1 for a new secret).
func (s *Store) Set(ctx context.Context, name string, value secret.Value) (version int, err error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if err := checkValue(value); err != nil {
		return 0, err
	}
	plain := []byte(value.Reveal())
	defer clear(plain)

	s.writers.RLock()
	defer s.writers.RUnlock()
	ring := s.ring.Load()
	mk := ring.current
	key := recordKey(name)
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		now := s.now().UTC()
		e, err := s.records.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			v, err := seal(mk, name, 1, plain, now)
			if err != nil {
				return 0, err
			}
			b, err := encodeRecord(&record{Format: formatVersion, Name: name, CreatedAt: now, RotatedAt: now, Versions: []sealed{v}})
			if err != nil {
				return 0, err
			}
			rev, err := s.records.Create(ctx, key, b)
			if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("storing secret %q: %w", name, err)
			}
			s.index.add(name, value)
			s.latest.put(name, latestEntry{revision: rev, known: true, number: 1, value: value})
			return 1, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading secret %q: %w", name, err)
		}
		rec, err := decodeRecord(name, e.Value)
		if err != nil {
			// Never overwrite what cannot be read: Remove it first.
			return 0, err
		}
		// A daemon started with the wrong master key must not fork the
		// secret into versions only it can read.
		for i := range rec.Versions {
			if v := &rec.Versions[i]; ring.find(v.MasterID) == nil {
				return 0, ring.wrongKey(name, v)
			}
		}
		number := rec.Versions[len(rec.Versions)-1].Number + 1
		if number > maxVersionNumber {
			return 0, fmt.Errorf("%w: secret %q has run out of version numbers; remove it and set it again", ErrInvalidValue, name)
		}
		v, err := seal(mk, name, number, plain, now)
		if err != nil {
			return 0, err
		}
		rec.Versions = append(rec.Versions, v)
		rec.RotatedAt = now
		b, err := encodeCapped(rec)
		if err != nil {
			return 0, err
		}
		rev, err := s.records.Update(ctx, key, b, e.Revision)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("storing secret %q: %w", name, err)
		}
		s.index.add(name, value)
		s.latest.put(name, latestEntry{revision: rev, known: true, number: number, value: value})
		return number, nil
	}
	return 0, fmt.Errorf("storing secret %q: %w after %d attempts", name, store.ErrConflict, maxAttempts)
}

// encodeCapped drops the oldest versions of rec until it has at most
// MaxVersions and fits in maxRecordLen. The newest version always stays: a
// single version of MaxValueLen is far below the limit.
func encodeCapped(rec *record) ([]byte, error) {
	if n := len(rec.Versions) - MaxVersions; n > 0 {
		rec.Versions = slices.Delete(rec.Versions, 0, n)
	}
	for {
		b, err := encodeRecord(rec)
		if err != nil || len(b) <= maxRecordLen || len(rec.Versions) == 1 {
			return b, err
		}
		rec.Versions = slices.Delete(rec.Versions, 0, 1)
	}
}

// Get returns version of the secret name, or its latest version when
// version is 0, and the number of the version it returns. It fails with
// ErrNotFound, ErrCorrupt or ErrWrongMasterKey, never with a wrong value.
// While Watch keeps the store current, the latest version is read from
// memory.
func (s *Store) Get(ctx context.Context, name string, version int) (secret.Value, int, error) {
	if err := checkName(name); err != nil {
		return "", 0, err
	}
	if version == 0 {
		if v, n, ok := s.latest.get(name); ok {
			return v, n, nil
		}
	}
	if version < 0 {
		return "", 0, fmt.Errorf("%w: secret %q has no version %d", ErrNotFound, name, version)
	}
	key := recordKey(name)
	for attempt := 1; ; attempt++ {
		ring := s.ring.Load()
		e, err := s.records.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return "", 0, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		if err != nil {
			return "", 0, fmt.Errorf("reading secret %q: %w", name, err)
		}
		rec, err := decodeRecord(name, e.Value)
		if err != nil {
			return "", 0, err
		}
		v := rec.version(version)
		if v == nil {
			return "", 0, fmt.Errorf("%w: secret %q has no version %d", ErrNotFound, name, version)
		}
		plain, err := ring.open(name, v)
		if errors.Is(err, ErrWrongMasterKey) && s.ring.Load() != ring && attempt < maxAttempts {
			// A rotation changed the keys between loading them and reading
			// the record: read again with the new keys.
			continue
		}
		if err != nil {
			return "", 0, err
		}
		value := secret.Value(plain)
		clear(plain)
		return value, v.Number, nil
	}
}

// List describes every secret, sorted by name. It reads no values and
// decrypts nothing.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	keys, err := s.records.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	var infos []Info
	for _, key := range keys {
		name, ok := nameOf(key)
		if !ok {
			continue
		}
		info, err := s.stat(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue // removed since Keys
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// Stat describes the secret name, or fails with ErrNotFound. It reads no
// value and decrypts nothing. Unlike List, which lists the bucket's keys
// first, it reads the one record, so it sees a write this node has just
// made.
func (s *Store) Stat(ctx context.Context, name string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	return s.stat(ctx, name)
}

func (s *Store) stat(ctx context.Context, name string) (Info, error) {
	e, err := s.records.Get(ctx, recordKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return Info{}, fmt.Errorf("secret %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("reading secret %q: %w", name, err)
	}
	rec, err := decodeRecord(name, e.Value)
	if err != nil {
		return Info{}, err
	}
	info := Info{Name: name, CreatedAt: rec.CreatedAt, RotatedAt: rec.RotatedAt}
	for _, v := range rec.Versions {
		info.Versions = append(info.Versions, VersionInfo{Number: v.Number, CreatedAt: v.CreatedAt, MasterKeyID: v.MasterID})
	}
	return info, nil
}

// Remove deletes the secret name and all its versions. Setting the name
// again later starts over at version 1.
func (s *Store) Remove(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	key := recordKey(name)
	for range maxAttempts {
		e, err := s.records.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		if err != nil {
			return fmt.Errorf("reading secret %q: %w", name, err)
		}
		err = s.records.Delete(ctx, key, e.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("removing secret %q: %w", name, err)
		}
		s.index.set(name, nil)
		s.latest.put(name, latestEntry{revision: e.Revision})
		return nil
	}
	return fmt.Errorf("removing secret %q: %w after %d attempts", name, store.ErrConflict, maxAttempts)
}
