package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
)

// memRecords is an in-memory Records with the semantics of a JetStream
// key-value bucket: revisions increase across the bucket, Create fails on
// an existing key, Update and Delete compare revisions.
type memRecords struct {
	mu      sync.Mutex
	rev     uint64
	entries map[string]store.Entry

	// beforeUpdate, when set, runs (without the lock held) before every
	// Update; an error it returns fails that Update.
	beforeUpdate func(key string) error
	updates      int
	// beforeGet, when set, runs (without the lock held) before every Get.
	beforeGet func(key string)
}

func newMemRecords() *memRecords {
	return &memRecords{entries: make(map[string]store.Entry)}
}

func (m *memRecords) Get(_ context.Context, key string) (store.Entry, error) {
	if m.beforeGet != nil {
		m.beforeGet(key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return store.Entry{}, fmt.Errorf("%w: %s", store.ErrNotFound, key)
	}
	e.Value = bytes.Clone(e.Value)
	return e, nil
}

func (m *memRecords) Create(_ context.Context, key string, value []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; ok {
		return 0, fmt.Errorf("%w: %s", store.ErrExists, key)
	}
	return m.putLocked(key, value), nil
}

func (m *memRecords) Update(_ context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if m.beforeUpdate != nil {
		if err := m.beforeUpdate(key); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates++
	if e, ok := m.entries[key]; !ok || e.Revision != rev {
		return 0, fmt.Errorf("%w: %s", store.ErrConflict, key)
	}
	return m.putLocked(key, value), nil
}

func (m *memRecords) Delete(_ context.Context, key string, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; !ok || e.Revision != rev {
		return fmt.Errorf("%w: %s", store.ErrConflict, key)
	}
	delete(m.entries, key)
	return nil
}

func (m *memRecords) Keys(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.entries))
	for k := range m.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func (m *memRecords) putLocked(key string, value []byte) uint64 {
	m.rev++
	m.entries[key] = store.Entry{Key: key, Value: bytes.Clone(value), Revision: m.rev}
	return m.rev
}

// raw returns the stored bytes of key.
func (m *memRecords) raw(t testing.TB, key string) []byte {
	t.Helper()
	e, err := m.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return e.Value
}

// put replaces key unconditionally, as someone with write access to the
// bucket could.
func (m *memRecords) put(key string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLocked(key, value)
}

// snapshot copies every entry's value.
func (m *memRecords) snapshot() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.entries))
	for k, e := range m.entries {
		out[k] = string(e.Value)
	}
	return out
}

// storedRecord and storedVersion are the documented record format, written
// out independently of the package's own types.
type storedRecord struct {
	Format    int             `json:"format"`
	Name      string          `json:"name"`
	CreatedAt time.Time       `json:"created_at"`
	RotatedAt time.Time       `json:"rotated_at"`
	Versions  []storedVersion `json:"versions"`
}

type storedVersion struct {
	Number     int       `json:"number"`
	CreatedAt  time.Time `json:"created_at"`
	MasterID   string    `json:"master_id"`
	WrappedDK  []byte    `json:"wrapped_dk"`
	Nonce      []byte    `json:"nonce"`
	Ciphertext []byte    `json:"ciphertext"`
}

func decodeStored(t testing.TB, b []byte) storedRecord {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r storedRecord
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stored record does not have the documented form: %v", err)
	}
	return r
}

func encodeStored(t testing.TB, r storedRecord) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testClock is a clock that advances one second per reading.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newKey(t testing.TB) *secrets.MasterKey {
	t.Helper()
	raw := make([]byte, secrets.MasterKeyLen)
	rand.Read(raw)
	k, err := secrets.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newStore(t testing.TB) (*secrets.Store, *memRecords, *secrets.MasterKey) {
	t.Helper()
	recs := newMemRecords()
	mk := newKey(t)
	return secrets.NewStore(recs, mk, newTestClock().Now), recs, mk
}

// canary returns a random printable value that occurs nowhere by chance.
func canary() string { return "canary-" + rand.Text() }

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
