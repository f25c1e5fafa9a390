package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// formatVersion is bound into every ciphertext's additional data, so a
// record of another format never opens under this one's rules.
const formatVersion = 1

const (
	dataKeyLen = 32
	nonceLen   = 12 // AES-GCM's standard nonce
	tagLen     = 16
	// wrappedLen is a wrapped data key: the wrapping nonce followed by the
	// sealed data key and its tag.
	wrappedLen = nonceLen + dataKeyLen + tagLen
	idLen      = 16 // hex of 8 bytes
)

// record is the JSON stored under one secret's key.
type record struct {
	Format    int       `json:"format"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	RotatedAt time.Time `json:"rotated_at"`
	// Versions are in increasing order of Number.
	Versions []sealed `json:"versions"`
}

// sealed is one version of a secret. encoding/json writes the byte fields
// in standard base64.
type sealed struct {
	Number    int       `json:"number"`
	CreatedAt time.Time `json:"created_at"`
	// MasterID is the ID of the master key that wrapped WrappedDK.
	MasterID string `json:"master_id"`
	// WrappedDK is nonce || AES-256-GCM(master, data key).
	WrappedDK []byte `json:"wrapped_dk"`
	// Nonce and Ciphertext are AES-256-GCM(data key, value).
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// valueAD is the additional data of a value's ciphertext. Names never
// contain NUL, so the encoding is unambiguous.
func valueAD(name string, number int) []byte {
	return []byte("pave secret value\x00" + strconv.Itoa(formatVersion) + "\x00" + name + "\x00" + strconv.Itoa(number))
}

// keyAD is the additional data of a wrapped data key.
func keyAD(name string, number int, masterID string) []byte {
	return []byte("pave secret data key\x00" + strconv.Itoa(formatVersion) + "\x00" + name + "\x00" +
		strconv.Itoa(number) + "\x00" + masterID)
}

// seal encrypts value as version number of name under a new data key,
// wrapped by mk.
func seal(mk *MasterKey, name string, number int, value []byte, now time.Time) (sealed, error) {
	dk, err := randomBytes(dataKeyLen)
	if err != nil {
		return sealed{}, err
	}
	defer clear(dk)
	aead, err := newGCM(dk)
	if err != nil {
		return sealed{}, err
	}
	nonce, err := randomBytes(nonceLen)
	if err != nil {
		return sealed{}, err
	}
	wrapped, err := mk.wrap(name, number, dk)
	if err != nil {
		return sealed{}, err
	}
	return sealed{
		Number:     number,
		CreatedAt:  now,
		MasterID:   mk.id,
		WrappedDK:  wrapped,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, value, valueAD(name, number)),
	}, nil
}

func (k *MasterKey) wrap(name string, number int, dk []byte) ([]byte, error) {
	nonce, err := randomBytes(nonceLen)
	if err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, dk, keyAD(name, number, k.id)), nil
}

// unwrap returns the data key of version number of name, which k wrapped.
func (k *MasterKey) unwrap(name string, number int, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrappedLen {
		return nil, errors.New("wrapped data key has the wrong length")
	}
	return k.aead.Open(nil, wrapped[:nonceLen], wrapped[nonceLen:], keyAD(name, number, k.id))
}

// keyring is the master keys a Store holds: current seals new versions;
// all of them open existing ones. A Store replaces its keyring as a whole,
// never edits one.
type keyring struct {
	current *MasterKey
	others  []*MasterKey
}

func (r *keyring) find(id string) *MasterKey {
	if r.current.id == id {
		return r.current
	}
	for _, k := range r.others {
		if k.id == id {
			return k
		}
	}
	return nil
}

func (r *keyring) ids() string {
	ids := []string{r.current.id}
	for _, k := range r.others {
		ids = append(ids, k.id)
	}
	return strings.Join(ids, " and ")
}

// with returns a keyring that also opens versions wrapped by k.
func (r *keyring) with(k *MasterKey) *keyring {
	if r.find(k.id) != nil {
		return r
	}
	return &keyring{current: r.current, others: append(append([]*MasterKey(nil), r.others...), k)}
}

// wrongKey is the error for version v of name, sealed by a key r lacks.
func (r *keyring) wrongKey(name string, v *sealed) error {
	return fmt.Errorf("%w: secret %q version %d was sealed by master key %s, this daemon has %s",
		ErrWrongMasterKey, name, v.Number, v.MasterID, r.ids())
}

// open decrypts version v of name. The caller must clear the result.
func (r *keyring) open(name string, v *sealed) ([]byte, error) {
	mk := r.find(v.MasterID)
	if mk == nil {
		return nil, r.wrongKey(name, v)
	}
	corrupt := func() error {
		return fmt.Errorf("%w: secret %q version %d does not decrypt: it was altered or damaged", ErrCorrupt, name, v.Number)
	}
	dk, err := mk.unwrap(name, v.Number, v.WrappedDK)
	if err != nil {
		return nil, corrupt()
	}
	defer clear(dk)
	aead, err := newGCM(dk)
	if err != nil {
		return nil, corrupt()
	}
	if len(v.Nonce) != nonceLen {
		return nil, corrupt()
	}
	plain, err := aead.Open(nil, v.Nonce, v.Ciphertext, valueAD(name, v.Number))
	if err != nil {
		return nil, corrupt()
	}
	return plain, nil
}

// encodeRecord returns rec as stored.
func encodeRecord(rec *record) ([]byte, error) {
	return json.Marshal(rec)
}

// decodeRecord parses and checks the stored record of name. It checks the
// shape only; each version's ciphertexts are authenticated when opened.
func decodeRecord(name string, b []byte) (*record, error) {
	corrupt := func(why string) error {
		return fmt.Errorf("%w: the record of secret %q %s", ErrCorrupt, name, why)
	}
	if len(b) > maxRecordLen {
		return nil, corrupt("is too long")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rec record
	if err := dec.Decode(&rec); err != nil {
		return nil, corrupt("is not valid JSON of the expected form")
	}
	if dec.More() {
		return nil, corrupt("has trailing data")
	}
	switch {
	case rec.Format != formatVersion:
		return nil, corrupt("has an unknown format")
	case rec.Name != name:
		return nil, corrupt("names another secret")
	case len(rec.Versions) == 0:
		return nil, corrupt("has no versions")
	case len(rec.Versions) > MaxVersions:
		return nil, corrupt("has too many versions")
	}
	last := 0
	for i := range rec.Versions {
		v := &rec.Versions[i]
		switch {
		case v.Number <= last || v.Number > maxVersionNumber:
			return nil, corrupt("has version numbers out of order")
		case !validID(v.MasterID):
			return nil, corrupt("has an invalid master key id")
		case len(v.WrappedDK) != wrappedLen, len(v.Nonce) != nonceLen,
			len(v.Ciphertext) < 1+tagLen, len(v.Ciphertext) > MaxValueLen+tagLen:
			return nil, corrupt("has a field of the wrong length")
		}
		last = v.Number
	}
	return &rec, nil
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// version returns the version numbered n, or the latest when n is 0.
func (rec *record) version(n int) *sealed {
	if n == 0 {
		return &rec.Versions[len(rec.Versions)-1]
	}
	for i := range rec.Versions {
		if rec.Versions[i].Number == n {
			return &rec.Versions[i]
		}
	}
	return nil
}
