package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/secret"
)

// ProblemKind classifies what Verify found wrong.
type ProblemKind string

// The problems Verify reports.
const (
	// ProblemMalformed: a record does not decode or is not in canonical
	// form (an altered byte, or something that is not a record).
	ProblemMalformed ProblemKind = "malformed"
	// ProblemEdited: a record's hash is not the hash of its content.
	ProblemEdited ProblemKind = "edited"
	// ProblemMoved: a record names another sequence number than the one it
	// is stored at: records were reordered, or copied into another log.
	ProblemMoved ProblemKind = "moved"
	// ProblemMissing: sequence numbers are missing: records were removed
	// (or, at the start, the log does not begin at 1 and AllowPruned is
	// not set).
	ProblemMissing ProblemKind = "missing"
	// ProblemBrokenLink: a record's prev is not the hash of the record
	// before it: that record was replaced, or records were removed and
	// the rest renumbered.
	ProblemBrokenLink ProblemKind = "broken_link"
	// ProblemForged: an event's MAC is wrong or it names another key: it
	// was written, or rewritten with its hash recomputed, by someone
	// without the key. Also a format 1 event (which has no MAC) that no
	// seal covers, or that follows a record of the current format.
	ProblemForged ProblemKind = "forged"
	// ProblemForgedSeal: a seal's MAC is wrong or it names another key:
	// something it covers was rewritten (hashes recomputed) by someone
	// without the key, or the seal itself was forged.
	ProblemForgedSeal ProblemKind = "forged_seal"
	// ProblemTruncated: records were cut off the end: the log's last
	// sequence number is past its newest record, or the head names a
	// seal past the end of the log.
	ProblemTruncated ProblemKind = "truncated"
	// ProblemForgedHead: the head does not decode, its MAC is wrong, or
	// the record it names is not the seal it names.
	ProblemForgedHead ProblemKind = "forged_head"
	// ProblemUnknownKey: a genuine rotation hands the log to a key the
	// verifier does not hold, so nothing after it can be checked. It is
	// not tampering: give the verifier that key (VerifyOptions.Keys).
	ProblemUnknownKey ProblemKind = "unknown_key"
)

// Problem is the first thing Verify found wrong.
type Problem struct {
	// Seq is the sequence number of the record where it was found (for a
	// missing run, the first missing number); 0 for the head itself.
	Seq    uint64
	Kind   ProblemKind
	Detail string
}

func (p *Problem) String() string {
	if p.Seq == 0 {
		return fmt.Sprintf("head: %s: %s", p.Kind, p.Detail)
	}
	return fmt.Sprintf("record %d: %s: %s", p.Seq, p.Kind, p.Detail)
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Problem is the first problem found, nil if none. Verify stops there:
	// what follows a problem is not checked.
	Problem *Problem
	// First and Last are the sequence numbers of the first and the last
	// record read; End is the log's last sequence number.
	First, Last, End uint64
	// Events and Seals count the records read.
	Events, Seals int
	// LastSeal is the sequence number and time of the last valid seal.
	LastSeal     uint64
	LastSealTime time.Time
	// Unsealed counts the records after the last seal. They are protected
	// by the chain only: someone who can write the log can rewrite them
	// and recompute their hashes.
	Unsealed int
	// OldestUnsealed is the time of the first of them.
	OldestUnsealed time.Time
	// Head is the seal the head names, 0 without a head.
	Head uint64
	// Key is the id of the key the newest records are sealed with, and
	// Rotations counts the rotations read (ActionRotateKey).
	Key       string
	Rotations int
	// Pruned reports that the log begins after record 1, allowed by
	// VerifyOptions.AllowPruned; its first record's prev is taken on trust.
	Pruned bool
	// Warnings are findings that are not proof of tampering, such as a
	// missing head or events left unsealed for too long.
	Warnings []string
}

// OK reports whether no problem was found.
func (r VerifyReport) OK() bool { return r.Problem == nil }

// VerifyOptions add checks to Verify.
type VerifyOptions struct {
	// Head, if set, is where the Auditor stores the signed head; Verify then
	// checks that the log still holds the seal it names.
	Head HeadStore
	// AllowPruned accepts a log that begins after record 1, as a log with
	// a retention bound does.
	AllowPruned bool
	// SealInterval and Now, if set, make Verify warn about events left
	// unsealed for more than twice SealInterval.
	SealInterval time.Duration
	Now          func() time.Time
	// Keys are the log's other keys: those of earlier rotations, whose
	// records stay in the log, and the key of a rotation the verifier's
	// own key has not reached yet.
	Keys []secret.Value
}

// Verify reads log from its first record and checks the chain: that every
// record is in canonical form with the right hash, is stored at the
// sequence number it names, follows the one before it without a gap and
// links to its hash; that every record's MAC is right under key or, on
// either side of a rotation (ActionRotateKey), under the key of opts.Keys
// the log was sealed with there; that no record is missing after the
// newest; and, with opts.Head, that the log still holds the seal the head
// names. It reports the first problem in the
// VerifyReport; the error is for failures to read the log or the head.
func Verify(ctx context.Context, log Log, key secret.Value, opts VerifyOptions) (VerifyReport, error) {
	ring, err := newRing(append([]secret.Value{key}, opts.Keys...), nil)
	if err != nil {
		return VerifyReport{}, err
	}
	return verify(ctx, log, ring, opts)
}

// errStop ends the read at the first problem.
var errStop = errors.New("stop")

// anchor is a record trusted as verified: a walk that starts there checks
// that the record is still there, unchanged, and then only what follows
// it. The zero anchor starts at record 1.
type anchor struct {
	Seq  uint64
	Hash Hash
	Seal bool // the record must be a seal: the one a head names
}

func verify(ctx context.Context, log Log, ring *keyRing, opts VerifyOptions) (VerifyReport, error) {
	c, err := walk(ctx, log, ring, opts, anchor{})
	return c.rep, err
}

// chain holds what a walk has read: the report and what the next record
// is checked against.
type chain struct {
	// k is the key the next record must be sealed with: that of the first
	// record read, then of each rotation. ring holds the keys allowed.
	k     *sealKey
	ring  *keyRing
	opts  VerifyOptions
	rep   VerifyReport
	prev  Hash
	seals map[uint64]Hash // sequence number → hash of every seal, for the head
	// current is set once a record of the current format was read: a
	// format 1 event after it is a forgery, since that format carries no
	// MAC. legacy is the first format 1 event that no seal covers yet.
	current bool
	legacy  uint64
}

func (c *chain) problem(seq uint64, kind ProblemKind, format string, args ...any) error {
	c.rep.Problem = &Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	return errStop
}

// walk reads log from the anchor (from record 1 with a zero anchor) and
// checks every record in order, then the end of the log and, with
// opts.Head, the head. The returned chain holds the report and, in prev,
// the hash of the last record read.
func walk(ctx context.Context, log Log, ring *keyRing, opts VerifyOptions, from anchor) (*chain, error) {
	c := &chain{ring: ring, opts: opts, seals: map[uint64]Hash{}}
	// The end before reading: what is appended meanwhile is read or not,
	// but the end never counts records that were not there to read.
	_, end, err := log.Last(ctx)
	if err != nil {
		return c, fmt.Errorf("read the end of the audit log: %w", err)
	}
	c.rep.End = end
	first := uint64(1)
	if from.Seq > 0 {
		first = from.Seq
	}
	err = log.Read(ctx, first, func(e Entry) error {
		if from.Seq > 0 && c.rep.Last == 0 {
			return c.start(e, from)
		}
		return c.next(e)
	})
	if err != nil && !errors.Is(err, errStop) {
		return c, fmt.Errorf("read the audit log: %w", err)
	}
	if c.rep.Problem != nil {
		return c, nil
	}
	if from.Seq > 0 && c.rep.Last == 0 {
		c.problem(from.Seq, ProblemTruncated, "record %d, which was checked before, is gone", from.Seq)
		return c, nil
	}
	// Removing the newest records leaves their numbers used: the end.
	if end > c.rep.Last && (c.rep.Last > 0 || !opts.AllowPruned) {
		c.problem(c.rep.Last+1, ProblemTruncated, "%s at the end of the log %s gone", span(c.rep.Last+1, end), were(c.rep.Last+1, end))
		return c, nil
	}
	if c.legacy != 0 {
		c.problem(c.legacy, ProblemForged, "a format 1 event that no seal covers: format 1 events carry no MAC, so it cannot be told from one written without the key")
		return c, nil
	}
	if opts.Head != nil {
		if err := checkHead(ctx, &c.rep, ring, opts.Head, c.seals, c.problem); err != nil {
			return c, err
		}
		if c.rep.Problem != nil {
			return c, nil
		}
	}
	rep := &c.rep
	if opts.SealInterval > 0 && opts.Now != nil && rep.Unsealed > 0 {
		if age := opts.Now().Sub(rep.OldestUnsealed); age > 2*opts.SealInterval {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d records have been unsealed for %s, longer than twice the seal interval %s: sealing is failing or stopped", rep.Unsealed, age.Round(time.Second), opts.SealInterval))
		}
	}
	return c, nil
}

// start checks the first record of a walk from an anchor: it must be the
// anchor's record, unchanged.
func (c *chain) start(e Entry, from anchor) error {
	if e.Seq != from.Seq {
		return c.problem(from.Seq, ProblemMissing, "record %d, which was checked before, is gone", from.Seq)
	}
	rec, err := DecodeRecord(e.Data)
	if err != nil || rec.Seq != e.Seq || rec.Hash != from.Hash || (from.Seal && rec.Kind != KindSeal) {
		kind := ProblemEdited
		if from.Seal {
			kind = ProblemForgedHead
		}
		return c.problem(e.Seq, kind, "record %d is not the record with hash %s checked before", from.Seq, from.Hash)
	}
	c.rep.First, c.rep.Last, c.prev = e.Seq, e.Seq, rec.Hash
	c.current = rec.format() == Version
	if rec.authenticated() {
		// Checked before: its key is the one the walk goes on with.
		if c.k = c.ring.get(rec.KeyID); c.k == nil {
			return c.problem(e.Seq, ProblemUnknownKey, "record %d, checked before, is sealed with audit key %s, which is not held here", e.Seq, rec.KeyID)
		}
		c.rep.Key = c.k.id
		if err := c.rotated(rec); err != nil {
			return err
		}
	}
	if rec.Kind == KindSeal {
		c.sealed(rec)
	}
	return nil
}

// next checks the record after the last one read.
func (c *chain) next(e Entry) error {
	rep := &c.rep
	rec, err := DecodeRecord(e.Data)
	switch {
	case errors.Is(err, ErrHashMismatch):
		return c.problem(e.Seq, ProblemEdited, "%v", err)
	case err != nil:
		return c.problem(e.Seq, ProblemMalformed, "%v", err)
	}
	if rec.Seq != e.Seq {
		return c.problem(e.Seq, ProblemMoved, "the record is number %d, stored at %d", rec.Seq, e.Seq)
	}
	switch {
	case rep.Last == 0 && e.Seq == 1:
		if !rec.Prev.IsZero() {
			return c.problem(e.Seq, ProblemBrokenLink, "the first record links to a record before it")
		}
	case rep.Last == 0 && c.opts.AllowPruned:
		rep.Pruned = true
	case rep.Last == 0:
		return c.problem(1, ProblemMissing, "%s missing: the log begins at %d", span(1, e.Seq-1), e.Seq)
	case e.Seq != rep.Last+1:
		return c.problem(rep.Last+1, ProblemMissing, "%s missing between %d and %d", span(rep.Last+1, e.Seq-1), rep.Last, e.Seq)
	case rec.Prev != c.prev:
		return c.problem(e.Seq, ProblemBrokenLink, "prev %s is not the hash %s of record %d: that record was replaced, or records were removed and renumbered", rec.Prev, c.prev, rep.Last)
	}
	if err := c.authenticate(rec); err != nil {
		return err
	}
	if rep.First == 0 {
		rep.First = e.Seq
	}
	rep.Last, c.prev = e.Seq, rec.Hash
	if rec.Kind == KindSeal {
		c.sealed(rec)
		return nil
	}
	rep.Events++
	if rep.Unsealed == 0 {
		rep.OldestUnsealed = rec.Time
	}
	rep.Unsealed++
	return nil
}

// authenticate checks a record's MAC, or that a seal will cover a format 1
// event, which has none.
func (c *chain) authenticate(rec Record) error {
	if !rec.authenticated() {
		if c.current {
			return c.problem(rec.Seq, ProblemForged, "a format 1 event, which carries no MAC, after the log moved to format %d: it was written without the key", Version)
		}
		if c.legacy == 0 {
			c.legacy = rec.Seq
		}
		return nil
	}
	if rec.format() == Version {
		c.current = true
	}
	kind, what := ProblemForged, "the record"
	if rec.Kind == KindSeal {
		kind, what = ProblemForgedSeal, "the seal or a record before it"
	}
	if c.k == nil {
		// The first record read names the key it starts with.
		if c.k = c.ring.get(rec.KeyID); c.k == nil {
			return c.problem(rec.Seq, kind, "made with key %s, which is none of the audit keys held here", rec.KeyID)
		}
	}
	if rec.KeyID != c.k.id {
		return c.problem(rec.Seq, kind, "made with key %s, not with the audit key %s", rec.KeyID, c.k.id)
	}
	if !rec.checkMAC(c.k) {
		return c.problem(rec.Seq, kind, "the MAC is wrong: %s was written or rewritten without the key", what)
	}
	c.rep.Key = c.k.id
	return c.rotated(rec)
}

// rotated moves the walk to the next key after a genuine rotation: every
// record after it must be sealed with that key.
func (c *chain) rotated(rec Record) error {
	if rec.Kind != KindEvent || rec.Event.Action != ActionRotateKey || rec.Event.Outcome != OK {
		return nil
	}
	to := rec.Event.Details["to"]
	k := c.ring.get(to)
	if k == nil {
		return c.problem(rec.Seq, ProblemUnknownKey, "the log was handed from audit key %s to %s, which is not held here: records after it cannot be checked", c.k.id, to)
	}
	c.k = k
	c.rep.Rotations++
	return nil
}

// sealed notes a valid seal: everything before it is covered.
func (c *chain) sealed(rec Record) {
	rep := &c.rep
	rep.Seals++
	rep.LastSeal, rep.LastSealTime = rec.Seq, rec.Time
	rep.Unsealed, rep.OldestUnsealed = 0, time.Time{}
	c.seals[rec.Seq] = rec.Hash
	c.legacy = 0
}

func checkHead(ctx context.Context, rep *VerifyReport, ring *keyRing, hs HeadStore, seals map[uint64]Hash, problem func(uint64, ProblemKind, string, ...any) error) error {
	data, err := hs.Load(ctx)
	if err != nil {
		return fmt.Errorf("read the audit head: %w", err)
	}
	if data == nil {
		if rep.Seals > 0 {
			rep.Warnings = append(rep.Warnings, "there is no head although the log has seals: it was never written or was deleted, and truncation after the last seal cannot be checked")
		}
		return nil
	}
	h, err := verifyHead(ring, data)
	if err != nil {
		problem(0, ProblemForgedHead, "%v", err)
		return nil
	}
	rep.Head = h.Seq
	switch hash, ok := seals[h.Seq]; {
	case h.Seq > rep.Last:
		problem(rep.Last+1, ProblemTruncated, "the head names seal %d (written %s), the log ends at %d: %s gone", h.Seq, h.Time.Format(time.RFC3339), rep.Last, span(rep.Last+1, h.Seq))
	case ok && hash == h.Hash:
		// The head's seal is there.
	case ok:
		problem(h.Seq, ProblemForgedHead, "the head names seal %d with hash %s, the log holds %s there", h.Seq, h.Hash, hash)
	case h.Seq < rep.First && rep.Pruned:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the head names seal %d, which retention removed", h.Seq))
	default:
		problem(h.Seq, ProblemForgedHead, "the head names seal %d, record %d is not a seal", h.Seq, h.Seq)
	}
	return nil
}

func span(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("record %d", from)
	}
	return fmt.Sprintf("records %d to %d", from, to)
}

func were(from, to uint64) string {
	if from == to {
		return "is"
	}
	return "are"
}
