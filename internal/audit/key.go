package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/pave-dev/pave/internal/keyfile"
	"github.com/pave-dev/pave/internal/secret"
)

// KeyLen is the length of a sealing key in bytes.
const KeyLen = 32

// ErrBadKey means a sealing key is not 32 bytes in base64. Its messages
// never quote the key.
var ErrBadKey = errors.New("invalid audit key")

// sealKey is a parsed sealing key. Its bytes never leave it.
type sealKey struct {
	id  string // hex of the first 8 bytes of HMAC(mac, "key id")
	mac []byte // the HMAC key, derived from the key with HKDF
}

// macInfo separates the HMAC key from any other use of the key bytes.
const macInfo = "pave audit: seal and head mac, format 1"

// parseKey reads a sealing key: 32 bytes in base64 (standard or URL
// alphabet, padding optional, surrounding white space ignored).
func parseKey(s secret.Value) (*sealKey, error) {
	raw, err := keyfile.DecodeKey(s.Reveal(), KeyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	defer clear(raw)
	mac, err := hkdf.Key(sha256.New, raw, nil, macInfo, 32)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, mac)
	m.Write([]byte("key id"))
	return &sealKey{id: hex.EncodeToString(m.Sum(nil)[:8]), mac: mac}, nil
}

// KeyID identifies a sealing key without revealing it, as seals and heads
// record it: 16 hex digits derived from the key by HMAC.
func KeyID(key secret.Value) (string, error) {
	k, err := parseKey(key)
	if err != nil {
		return "", err
	}
	return k.id, nil
}

// GenerateKey returns a new random sealing key in base64.
func GenerateKey() (secret.Value, error) {
	line, err := keyfile.NewKey(KeyLen)
	defer clear(line)
	return secret.Value(line), err
}

// LoadOrCreateKey reads the sealing key from the file at path or, if there
// is no file there, creates one with mode 0600 holding a new random key
// (created is then true). The file holds the key in base64 on one line.
// Keep it outside JetStream: whoever holds the key can forge seals.
//
// It refuses a symbolic link (even to a good file), anything but a regular
// file, and a file that users other than its owner can read or write. On
// Windows, which has no such permission bits, only the file type is
// checked. The returned Secret is the base64 text, which New accepts.
func LoadOrCreateKey(path string) (key secret.Value, created bool, err error) {
	line, created, err := keyfile.LoadOrCreate(path, "audit key file", func() ([]byte, error) {
		k, err := GenerateKey()
		return []byte(k.Reveal()), err
	})
	if errors.Is(err, keyfile.ErrTooLong) {
		return "", false, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if err != nil {
		return "", false, err
	}
	key = secret.Value(line)
	clear(line)
	if _, err := parseKey(key); err != nil {
		return "", false, fmt.Errorf("audit key file %s: %w", path, err)
	}
	return key, created, nil
}

// keyRing holds the sealing keys a walk of the log may meet, by id: the
// current key, those of earlier rotations, whose records stay in the log,
// and the next key of a rotation another writer may make. A lookup the
// ring cannot answer asks load, which may find a key given since (the
// daemon reads the next key's file). It is safe for concurrent use.
type keyRing struct {
	mu   sync.Mutex
	keys map[string]*sealKey
	load func(id string) (secret.Value, bool)
}

// newRing parses keys into a ring that asks load for the others.
func newRing(keys []secret.Value, load func(id string) (secret.Value, bool)) (*keyRing, error) {
	r := &keyRing{keys: map[string]*sealKey{}, load: load}
	for _, s := range keys {
		k, err := parseKey(s)
		if err != nil {
			return nil, err
		}
		r.keys[k.id] = k
	}
	return r, nil
}

// get returns the key with id, nil if neither the ring nor load has it.
func (r *keyRing) get(id string) *sealKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k := r.keys[id]; k != nil || r.load == nil || id == "" {
		return k
	}
	s, ok := r.load(id)
	if !ok {
		return nil
	}
	k, err := parseKey(s)
	if err != nil || k.id != id {
		return nil
	}
	r.keys[id] = k
	return k
}

// add puts k in the ring.
func (r *keyRing) add(k *sealKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[k.id] = k
}
