package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Version is the record format that this package writes. It reads
// format 1 too, the format before every record carried a MAC (see the
// package documentation).
const Version = 2

// legacyVersion is the format in which only seals carry a MAC.
const legacyVersion = 1

// MaxRecordSize bounds an encoded record. Record keeps events under it by
// truncating their free-form fields; DecodeRecord refuses anything larger.
const MaxRecordSize = 60 << 10

// Domain separation: each hash and MAC input starts with its own label, so
// that no record body can be replayed as a seal or head and vice versa.
const (
	recordDomain = "pave audit record v1\n"
	sealDomain   = "pave audit seal v1\n"
	eventDomain  = "pave audit event v2\n"
	headDomain   = "pave audit head v1\n"
)

// Hash is a SHA-256 hash of a record.
type Hash [sha256.Size]byte

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes, the prev of the first record.
func (h Hash) IsZero() bool { return h == Hash{} }

// Kind is what a record holds.
type Kind string

// The record kinds.
const (
	KindEvent Kind = "event"
	KindSeal  Kind = "seal"
)

// Record is one entry of the chain as stored: an event or a seal.
type Record struct {
	Seq  uint64
	Kind Kind
	// Time is when the record was made, by the writer's clock, in UTC.
	Time time.Time
	// Prev is the Hash of the record before it, zero for the first record.
	Prev Hash
	// Hash is the SHA-256 of the record's canonical body (see the package
	// documentation).
	Hash Hash
	// Event holds the event of a KindEvent record, with its Seq and Time.
	Event Event
	// KeyID and MAC are the ID of the audit key and the HMAC-SHA256 of
	// the record's body under it: set on every record of format 2, and
	// only on seals in format 1.
	KeyID string
	MAC   []byte

	version int    // the format, 0 meaning Version
	raw     []byte // the canonical encoding, as stored
}

// format is the record's format number.
func (r Record) format() int {
	if r.version == 0 {
		return Version
	}
	return r.version
}

// authenticated reports whether the record carries a MAC of its own:
// every record of format 2, and seals.
func (r Record) authenticated() bool {
	return r.Kind == KindSeal || r.format() >= Version
}

// JSON returns the record's canonical encoding, which is exactly what is
// stored: one JSON object on one line, without a trailing newline. It is
// the JSON lines form for a SIEM or a file: a copy can be verified like
// the log itself.
func (r Record) JSON() []byte {
	if r.raw != nil {
		return slices.Clone(r.raw)
	}
	return r.encode(partAll)
}

// Errors of DecodeRecord, matched with errors.Is.
var (
	// ErrMalformed means the bytes are not a record in the canonical
	// encoding: they were written by something else or altered.
	ErrMalformed = errors.New("malformed audit record")
	// ErrHashMismatch means a record is well formed but its hash is not the
	// hash of its content: it was altered.
	ErrHashMismatch = errors.New("audit record hash mismatch")
)

// wire is the stored form, for decoding. Encoding does not use it: the
// canonical form is written by hand so that it never depends on the
// behaviour of a JSON library.
type wire struct {
	V       *int              `json:"v"`
	Seq     *uint64           `json:"seq"`
	Kind    *string           `json:"kind"`
	Time    *string           `json:"time"`
	Prev    *string           `json:"prev"`
	Actor   *string           `json:"actor"`
	Action  *string           `json:"action"`
	Target  *string           `json:"target"`
	Source  *string           `json:"source"`
	Outcome *string           `json:"outcome"`
	Details map[string]string `json:"details"`
	Key     *string           `json:"key"`
	MAC     *string           `json:"mac"`
	Hash    *string           `json:"hash"`
}

// DecodeRecord parses a stored record and checks that it is in canonical
// form and that its hash matches its content (ErrMalformed or
// ErrHashMismatch otherwise). It does not check a seal's MAC, which needs
// the key: Verify does.
func DecodeRecord(data []byte) (Record, error) {
	if len(data) > MaxRecordSize {
		return Record{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(data), MaxRecordSize)
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("%w: data after the record", ErrMalformed)
	}
	r, err := w.record()
	if err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// Canonical form: a record decodes to exactly one encoding, so any
	// change of the stored bytes that still parses (a letter's case in a
	// field name, an escape, white space, a duplicated field) shows here.
	if !bytes.Equal(r.encode(partAll), data) {
		return Record{}, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	if sum := r.sum(); sum != r.Hash {
		return Record{}, fmt.Errorf("%w: record %d says %s, its content hashes to %s", ErrHashMismatch, r.Seq, r.Hash, sum)
	}
	r.raw = slices.Clone(data)
	return r, nil
}

func (w wire) record() (Record, error) {
	if w.V == nil || (*w.V != Version && *w.V != legacyVersion) {
		return Record{}, errors.New("unknown version")
	}
	if w.Seq == nil || *w.Seq == 0 || w.Kind == nil || w.Time == nil || w.Prev == nil || w.Hash == nil {
		return Record{}, errors.New("missing field")
	}
	r := Record{Seq: *w.Seq, Kind: Kind(*w.Kind), version: *w.V}
	t, err := time.Parse(time.RFC3339Nano, *w.Time)
	if err != nil {
		return Record{}, errors.New("bad time")
	}
	r.Time = t.UTC()
	if r.Prev, err = parseHash(*w.Prev); err != nil {
		return Record{}, err
	}
	if r.Hash, err = parseHash(*w.Hash); err != nil {
		return Record{}, err
	}
	switch r.Kind {
	case KindEvent:
		if w.Actor == nil || w.Action == nil || w.Target == nil || w.Source == nil || w.Outcome == nil || w.Details == nil {
			return Record{}, errors.New("missing event field")
		}
		if r.version == legacyVersion && (w.Key != nil || w.MAC != nil) {
			return Record{}, errors.New("a MAC in a format 1 event")
		}
		r.Event = Event{
			Seq: r.Seq, Time: r.Time,
			Actor: *w.Actor, Action: *w.Action, Target: *w.Target, Source: *w.Source,
			Outcome: Outcome(*w.Outcome),
		}
		if len(w.Details) > 0 {
			r.Event.Details = w.Details
		}
	case KindSeal:
		if w.Actor != nil || w.Action != nil || w.Target != nil || w.Source != nil || w.Outcome != nil || w.Details != nil {
			return Record{}, errors.New("event field in a seal")
		}
	default:
		return Record{}, errors.New("unknown kind")
	}
	if !r.authenticated() {
		return r, nil
	}
	if w.Key == nil || w.MAC == nil {
		return Record{}, errors.New("missing key or mac")
	}
	mac, err := parseHash(*w.MAC)
	if err != nil {
		return Record{}, err
	}
	r.KeyID, r.MAC = *w.Key, mac[:]
	return r, nil
}

func parseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, errors.New("bad hash length")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("bad hash")
	}
	return h, nil
}

// part selects how much of a record encode writes.
type part int

const (
	partMACed part = iota // the body without mac and hash: what the MAC covers
	partBody              // the body without hash: what the hash covers
	partAll               // everything: what is stored
)

// encode writes the canonical encoding of r: a JSON object with a fixed set
// of fields in a fixed order, no white space, details sorted by key,
// strings escaped as appendString does. The parts before partAll are
// complete JSON objects too (their closing brace comes right after the last
// field they include).
func (r Record) encode(p part) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.format()), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(r.Kind))
	b = append(b, `,"time":`...)
	b = appendString(b, r.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"prev":`...)
	b = appendString(b, r.Prev.String())
	if r.Kind != KindSeal {
		e := r.Event
		b = append(b, `,"actor":`...)
		b = appendString(b, e.Actor)
		b = append(b, `,"action":`...)
		b = appendString(b, e.Action)
		b = append(b, `,"target":`...)
		b = appendString(b, e.Target)
		b = append(b, `,"source":`...)
		b = appendString(b, e.Source)
		b = append(b, `,"outcome":`...)
		b = appendString(b, string(e.Outcome))
		b = append(b, `,"details":{`...)
		for i, k := range slices.Sorted(maps.Keys(e.Details)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Details[k])
		}
		b = append(b, '}')
	}
	if r.authenticated() {
		b = append(b, `,"key":`...)
		b = appendString(b, r.KeyID)
		if p >= partBody {
			b = append(b, `,"mac":`...)
			b = appendString(b, hex.EncodeToString(r.MAC))
		}
	}
	if p >= partAll {
		b = append(b, `,"hash":`...)
		b = appendString(b, r.Hash.String())
	}
	return append(b, '}')
}

// sum is the record's hash: SHA-256 of the record domain label followed by
// the body (the canonical encoding without the hash field).
func (r Record) sum() Hash {
	h := sha256.New()
	h.Write([]byte(recordDomain))
	h.Write(r.encode(partBody))
	return Hash(h.Sum(nil))
}

// mac is the MAC of a record: HMAC-SHA256 under the audit key of the
// domain label of its kind followed by the record's body without its mac
// and hash. That body holds the record's sequence number, time and
// content and, as prev, the hash of the record before it: for a seal, the
// head of the chain it seals.
func (r Record) mac(k *sealKey) []byte {
	m := hmac.New(sha256.New, k.mac)
	if r.Kind == KindSeal {
		m.Write([]byte(sealDomain))
	} else {
		m.Write([]byte(eventDomain))
	}
	m.Write(r.encode(partMACed))
	return m.Sum(nil)
}

// sign sets the record's key ID, MAC and hash.
func (r *Record) sign(k *sealKey) {
	r.KeyID = k.id
	r.MAC = r.mac(k)
	r.Hash = r.sum()
}

// checkMAC reports whether r carries a MAC of k over its content.
func (r Record) checkMAC(k *sealKey) bool {
	return r.KeyID == k.id && hmac.Equal(r.MAC, r.mac(k))
}

// appendString writes s as a JSON string: '"' and '\' escaped with a
// backslash, \n \r \t as such, other control characters (below U+0020,
// and U+007F) as \u00XX in lowercase hex, everything else as its UTF-8
// bytes. s must be valid UTF-8: Record makes every string valid before it
// is hashed, and a decoded string always is.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
