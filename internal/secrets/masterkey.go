package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/pave-dev/pave/internal/keyfile"
)

// MasterKeyLen is the length of a master key in bytes.
const MasterKeyLen = 32

// ErrBadMasterKey means a master key, given as base64 or read from a file,
// is not 32 random bytes. Its messages never quote the input.
var ErrBadMasterKey = errors.New("invalid master key")

// wrapInfo separates the data-key wrapping key from any other use of the
// master key bytes, including the ID, which hashes them directly.
const wrapInfo = "pave secrets: data key wrapping, format 1"

// MasterKey wraps the data keys of the secrets. It has no accessor for its
// bytes, and every way of formatting it prints only its ID.
type MasterKey struct {
	id   string
	aead cipher.AEAD // AES-256-GCM under a key derived from the master key
}

// newMasterKey builds a MasterKey from 32 random bytes.
func newMasterKey(raw []byte) (*MasterKey, error) {
	sum := sha256.Sum256(raw)
	kek, err := hkdf.Key(sha256.New, raw, nil, wrapInfo, 32)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	return &MasterKey{id: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// ParseMasterKey reads a master key written as base64 (standard or URL
// alphabet, with or without padding; surrounding spaces are ignored), as the
// daemon receives it from its environment. It must decode to exactly 32
// bytes. Errors never include the input.
func ParseMasterKey(b64 string) (*MasterKey, error) {
	raw, err := keyfile.DecodeKey(b64, MasterKeyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMasterKey, err)
	}
	defer clear(raw)
	return newMasterKey(raw)
}

// ID identifies the key without revealing it: the first 8 bytes of the
// SHA-256 of the key, in hex. Every wrapped data key records the ID of the
// master key that wrapped it.
func (k MasterKey) ID() string { return k.id }

// String returns "master key <id>".
func (k MasterKey) String() string { return "master key " + k.id }

// GoString returns the same as String, so %#v prints no key material.
func (k MasterKey) GoString() string { return k.String() }

// Format writes String for every verb and flag.
func (k MasterKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs the ID only.
func (k MasterKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText returns the same as String, so that a MasterKey in JSON or a
// structured log shows its ID only.
func (k MasterKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// LoadOrCreateMasterKey reads the master key from the file at path, or, if
// there is no such file, creates it with mode 0600 and a new random key
// (created is then true). The file holds the key in base64 on one line.
//
// It refuses a path that is a symbolic link, a directory or anything else
// but a regular file, and a file that users other than its owner may read
// or write: the master key decrypts every secret. On Windows, which has no
// such permission bits, only the file type is checked.
func LoadOrCreateMasterKey(path string) (k *MasterKey, created bool, err error) {
	line, created, err := keyfile.LoadOrCreate(path, "master key file", func() ([]byte, error) {
		return keyfile.NewKey(MasterKeyLen)
	})
	if errors.Is(err, keyfile.ErrTooLong) {
		return nil, false, fmt.Errorf("%w: %v", ErrBadMasterKey, err)
	}
	if err != nil {
		return nil, false, err
	}
	defer clear(line)
	if k, err = ParseMasterKey(string(line)); err != nil {
		return nil, false, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, created, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
