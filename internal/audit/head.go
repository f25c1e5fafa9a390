package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/keyfile"
	"github.com/pave-dev/pave/internal/store"
)

// HeadStore keeps the head: a small signed record naming the latest seal
// (its sequence number and hash), written after every seal, somewhere
// other than the log. It is what lets Verify see that sealed records were
// cut off the end of the log (see the package documentation).
type HeadStore interface {
	// Load returns the stored head, nil if there is none.
	Load(ctx context.Context) ([]byte, error)
	// Store replaces the head with data, for the seal numbered seq, unless
	// the stored head is for a later seal: the head never moves back.
	Store(ctx context.Context, seq uint64, data []byte) error
}

// headVersion is the format of heads.
const headVersion = 1

// headRecord is a decoded head: the seal it names and when it was written.
type headRecord struct {
	Seq   uint64
	Hash  Hash
	Time  time.Time
	KeyID string
	MAC   []byte
}

// ErrForgedHead means a head does not decode, or its MAC is not the
// sealing key's.
var ErrForgedHead = errors.New("audit head is malformed or not signed with the audit key")

type headWire struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Time string `json:"time"`
	Key  string `json:"key"`
	MAC  string `json:"mac"`
}

// encode writes the canonical form of h; without the MAC when mac is false.
func (h headRecord) encode(mac bool) []byte {
	b := []byte(`{"v":`)
	b = strconv.AppendInt(b, headVersion, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, h.Seq, 10)
	b = append(b, `,"hash":`...)
	b = appendString(b, h.Hash.String())
	b = append(b, `,"time":`...)
	b = appendString(b, h.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"key":`...)
	b = appendString(b, h.KeyID)
	if mac {
		b = append(b, `,"mac":`...)
		b = appendString(b, hex.EncodeToString(h.MAC))
	}
	return append(b, '}')
}

func (h headRecord) mac(k *sealKey) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(headDomain))
	m.Write(h.encode(false))
	return m.Sum(nil)
}

// signHead makes the head for the seal rec.
func signHead(k *sealKey, rec Record, now time.Time) []byte {
	h := headRecord{Seq: rec.Seq, Hash: rec.Hash, Time: now.UTC(), KeyID: k.id}
	h.MAC = h.mac(k)
	return h.encode(true)
}

// decodeHead parses a head without checking its MAC.
func decodeHead(data []byte) (headRecord, error) {
	var w headWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || w.V != headVersion || w.Seq == 0 {
		return headRecord{}, ErrForgedHead
	}
	h := headRecord{Seq: w.Seq, KeyID: w.Key}
	var err error
	if h.Hash, err = parseHash(w.Hash); err != nil {
		return headRecord{}, ErrForgedHead
	}
	mac, err := parseHash(w.MAC)
	if err != nil {
		return headRecord{}, ErrForgedHead
	}
	h.MAC = mac[:]
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return headRecord{}, ErrForgedHead
	}
	h.Time = t.UTC()
	if !bytes.Equal(h.encode(true), data) {
		return headRecord{}, ErrForgedHead
	}
	return h, nil
}

// verifyHead parses a head and checks its MAC under the ring's key it
// names.
func verifyHead(ring *keyRing, data []byte) (headRecord, error) {
	h, err := decodeHead(data)
	if err != nil {
		return headRecord{}, err
	}
	if k := ring.get(h.KeyID); k == nil || !hmac.Equal(h.MAC, h.mac(k)) {
		return headRecord{}, ErrForgedHead
	}
	return h, nil
}

// storedSeq is the seal a stored head names, 0 if it names none or cannot
// be read (a forged head never blocks a genuine one).
func storedSeq(data []byte) uint64 {
	h, err := decodeHead(data)
	if err != nil {
		return 0
	}
	return h.Seq
}

// KVHead keeps the head under Key in a key-value bucket, with
// compare-and-set so that concurrent sealers never move it back. The
// bucket is in the same JetStream as the log, so it guards against
// accidents and against tampering with the stream alone, not against
// someone who can write both; FileHead keeps it out of JetStream.
type KVHead struct {
	KV  *store.KV
	Key string
}

// Load implements HeadStore.
func (h KVHead) Load(ctx context.Context) ([]byte, error) {
	e, err := h.KV.Get(ctx, h.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return e.Value, nil
}

// Store implements HeadStore.
func (h KVHead) Store(ctx context.Context, seq uint64, data []byte) error {
	for range 10 {
		e, err := h.KV.Get(ctx, h.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			_, err = h.KV.Create(ctx, h.Key, data)
		case err != nil:
			return err
		case storedSeq(e.Value) >= seq:
			return nil
		default:
			_, err = h.KV.Update(ctx, h.Key, data, e.Revision)
		}
		if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
			continue // someone else wrote it: look again
		}
		return err
	}
	return errors.New("audit head: too many concurrent writers")
}

// FileHead keeps the head in a file, written with mode 0600 through a
// temporary file and a rename. Keep it next to the key, outside JetStream:
// then truncating the log needs write access to this machine too. With
// several daemons on one log, each keeps its own: it names the latest seal
// that daemon made, which Verify finds in the log if nothing was cut.
type FileHead struct {
	Path string
	mu   sync.Mutex
}

// Load implements HeadStore. It refuses a symbolic link or a file others
// can write.
func (h *FileHead) Load(context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.load()
}

func (h *FileHead) load() ([]byte, error) {
	info, err := os.Lstat(h.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := keyfile.CheckPrivate("audit head file", h.Path, info, 0o022); err != nil {
		return nil, err
	}
	f, err := os.Open(h.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b), nil
}

// Store implements HeadStore.
func (h *FileHead) Store(_ context.Context, seq uint64, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, err := h.load()
	if err != nil {
		return err
	}
	if storedSeq(old) >= seq {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(h.Path), ".audit-head-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.Path)
	}
	if err != nil {
		return fmt.Errorf("write audit head file %s: %w", h.Path, err)
	}
	return nil
}
