package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/secret"
)

// Defaults of Options.
const (
	DefaultSealEvery    = 100
	DefaultSealInterval = time.Minute
	DefaultTimeout      = 10 * time.Second
	DefaultRetries      = 64
)

// Options configure an Auditor. The zero value is usable.
type Options struct {
	// SealEvery seals the chain once this many records follow the last
	// seal; 0 means DefaultSealEvery, a negative number never (then only
	// Seal and Run seal).
	SealEvery int
	// SealInterval is how often Run seals (when something is unsealed); 0
	// means DefaultSealInterval. Verify warns about events left unsealed
	// for longer.
	SealInterval time.Duration
	// Head, if set, receives a signed head after every seal, so that Verify
	// can detect sealed records cut off the end of the log.
	Head HeadStore
	// Sink, if set, receives every record this Auditor stores (not those of
	// other processes sharing the log), after it is stored.
	Sink Sink
	// AllowPruned says that the log may lose its oldest records to
	// retention (StreamOptions with a bound), for Verify.
	AllowPruned bool
	// Timeout bounds Record and Seal when their context has no deadline; 0
	// means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times an append that lost a race with another
	// writer is tried again; 0 means DefaultRetries.
	Retries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives what cannot be returned: failures of the sink, the
	// head and of seals made by Record. nil discards them.
	Logger *slog.Logger
	// Keys are the log's other keys: those of earlier rotations, whose
	// records stay in the log, and the next key, for a rotation another
	// writer makes. LoadKey, if set, is asked for a key by id when a
	// record names one that neither the key nor Keys is (the daemon reads
	// the next key's file, which may have been given since the start).
	Keys    []secret.Value
	LoadKey func(id string) (secret.Value, bool)
	// OnRotate, if set, is called when the Auditor starts sealing with
	// another key: after its own Rotate, or on reading another writer's
	// rotation to a key it holds. It is called with the Auditor's lock
	// held and must not call the Auditor.
	OnRotate func(from, to string)
}

// Sink receives records as they are stored, such as FileSink.
type Sink interface {
	Send(Record) error
}

// Auditor records events in a Log as a hash chain and seals it. It is safe
// for concurrent use; several Auditors, in one process or several, may share
// one Log.
type Auditor struct {
	log  Log
	key  *sealKey // the key it seals with
	ring *keyRing // every key it may meet in the log, key included
	opts Options

	// sem is the append lock: a channel, so that waiting for it honours
	// a context. What follows is guarded by it.
	sem        chan struct{}
	known      bool   // end, head and headKind reflect the log
	end        uint64 // the log's last sequence number
	head       Hash   // hash of the newest stored record: the next prev
	headKind   Kind   // its kind, if it is at end
	lastSeal   uint64 // the latest seal seen
	headStored uint64 // the seal last written to opts.Head
	// checked is the newest record known to be genuine: appended by this
	// Auditor, or checked by CheckTail or by refresh, which checks every
	// record that others appended after it.
	checked anchor
	// broken is the tampering found, if any: the Auditor then no longer
	// seals (it would vouch for what it found).
	broken *Problem
	// lost is the id of a key another writer's rotation handed the log
	// to and that this Auditor does not hold: it then appends nothing,
	// as whatever it sealed with its old key would read as forged.
	lost string
	// tailChecked is set once CheckTail has run: from then on every
	// record others append is checked, from record 1 if the log was
	// empty then.
	tailChecked bool

	stateMu    sync.Mutex
	brokenCopy *Problem // broken, for Broken, which takes no append lock
	keyID      string   // key's id, for KeyID
}

// ErrKeyNotHeld is what Record, Seal and Rotate return once another
// writer rotated the log to a key this Auditor does not hold.
var ErrKeyNotHeld = errors.New("the audit log was rotated to a key this node does not hold")

// ErrBroken is what Seal returns once the Auditor found the log tampered
// with: it goes on recording events, each with its own MAC, but it does
// not seal over the break.
var ErrBroken = errors.New("the audit log was tampered with: not sealing over it")

// New returns an Auditor appending to log and sealing with key, a 32-byte
// key in base64 such as LoadOrCreateKey or GenerateKey returns.
func New(log Log, key secret.Value, opts Options) (*Auditor, error) {
	if log == nil {
		return nil, errors.New("audit: no log")
	}
	k, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	ring, err := newRing(opts.Keys, opts.LoadKey)
	if err != nil {
		return nil, err
	}
	ring.add(k)
	if opts.SealEvery == 0 {
		opts.SealEvery = DefaultSealEvery
	}
	if opts.SealInterval <= 0 {
		opts.SealInterval = DefaultSealInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Retries <= 0 {
		opts.Retries = DefaultRetries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Auditor{log: log, key: k, ring: ring, opts: opts, sem: make(chan struct{}, 1), keyID: k.id}, nil
}

// KeyID returns the id of the key the Auditor seals with.
func (a *Auditor) KeyID() string {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	return a.keyID
}

// Rotate hands the log to the key next: it records an ActionRotateKey
// event for ev's actor, source and details, sealed with the current key,
// switches to next, and seals the log with it at once, writing the head.
// Other writers holding next (Options.Keys or LoadKey) follow when they
// next read the log; a writer without it appends nothing more
// (ErrKeyNotHeld). It returns the ids of the old and the new key.
func (a *Auditor) Rotate(ctx context.Context, next secret.Value, ev Event) (from, to string, err error) {
	nk, err := parseKey(next)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.lock(ctx); err != nil {
		return "", "", fmt.Errorf("audit: rotate the key: %w", err)
	}
	defer a.unlock()
	if a.broken != nil {
		return "", "", fmt.Errorf("audit: rotate the key: %w: %s", ErrBroken, a.broken)
	}
	ev.Action, ev.Target, ev.Outcome = ActionRotateKey, Ref("audit-key", nk.id), OK
	a.known = false // rotate from the newest record, whoever wrote it
	rec, err := a.append(ctx, func(seq uint64, prev Hash, now time.Time) (Record, bool) {
		if a.key.id == nk.id {
			return Record{}, false // rotated to it already, by another writer
		}
		e := ev
		e.Details = maps.Clone(ev.Details)
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		e.Details["from"], e.Details["to"] = a.key.id, nk.id
		e.Seq, e.Time = seq, now
		e, err := e.clean()
		if err != nil {
			return Record{}, false
		}
		r := Record{Seq: seq, Kind: KindEvent, Time: now, Prev: prev, Event: e}
		r.sign(a.key)
		return r, true
	})
	if err != nil {
		return "", "", fmt.Errorf("audit: rotate the key: %w", err)
	}
	if rec.Seq == 0 {
		if a.key.id != nk.id {
			return "", "", fmt.Errorf("audit: rotate the key: %w", ErrInvalidEvent)
		}
		return "", nk.id, nil
	}
	from = a.key.id
	a.switchTo(nk)
	if err := a.seal(ctx); err != nil {
		return from, nk.id, fmt.Errorf("audit: the key is rotated, but the seal after it failed: %w", err)
	}
	return from, nk.id, nil
}

// switchTo makes k the key the Auditor seals with; the caller holds the
// lock.
func (a *Auditor) switchTo(k *sealKey) {
	from := a.key.id
	if from == k.id {
		return
	}
	a.ring.add(k)
	a.key = k
	a.stateMu.Lock()
	a.keyID = k.id
	a.stateMu.Unlock()
	a.opts.Logger.Info("sealing the audit log with the next key", "from", from, "to", k.id)
	if a.opts.OnRotate != nil {
		a.opts.OnRotate(from, k.id)
	}
}

// caughtUp takes in what a walk of the log found: the key the newest
// records are sealed with, or the rotation to a key it does not hold.
// It reports a problem that is tampering; the caller holds the lock.
func (a *Auditor) caughtUp(c *chain) *Problem {
	if p := c.rep.Problem; p != nil {
		if p.Kind == ProblemUnknownKey {
			a.lost = p.Detail
			return nil
		}
		return p
	}
	a.lost = ""
	if c.k != nil {
		a.switchTo(c.k)
	}
	return nil
}

// Record appends ev to the log, setting its time, sequence number and the
// hash of the record before it, and seals the chain if SealEvery records
// are now unsealed. It returns once the event is stored, or with an error
// if it could not be stored before ctx (bounded by Options.Timeout) ended.
// An event that Record refuses (ErrInvalidEvent) is a programming error.
func (a *Auditor) Record(ctx context.Context, ev Event) error {
	ev, err := ev.clean()
	if err != nil {
		return err
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.lock(ctx); err != nil {
		return fmt.Errorf("audit: record %s: %w", ev.Action, err)
	}
	defer a.unlock()
	_, err = a.append(ctx, func(seq uint64, prev Hash, now time.Time) (Record, bool) {
		ev.Seq, ev.Time = seq, now
		r := Record{Seq: seq, Kind: KindEvent, Time: now, Prev: prev, Event: ev}
		r.sign(a.key)
		return r, true
	})
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", ev.Action, err)
	}
	if a.opts.SealEvery > 0 && a.end-a.lastSeal >= uint64(a.opts.SealEvery) {
		if err := a.seal(ctx); err != nil {
			a.opts.Logger.Warn("audit seal failed", "err", err)
		}
	}
	return nil
}

// Seal appends a seal over the head of the chain and writes the signed head
// to Options.Head, unless the newest record is a seal already. The daemon
// calls it on a ticker and at shutdown (Run does both).
func (a *Auditor) Seal(ctx context.Context) error {
	ctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.lock(ctx); err != nil {
		return fmt.Errorf("audit: seal: %w", err)
	}
	defer a.unlock()
	if err := a.seal(ctx); err != nil {
		return fmt.Errorf("audit: seal: %w", err)
	}
	return nil
}

// Run seals every SealInterval until ctx ends, then seals once more with a
// fresh context bounded by Options.Timeout and returns that seal's error.
func (a *Auditor) Run(ctx context.Context) error {
	t := time.NewTicker(a.opts.SealInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := a.Seal(ctx); err != nil && ctx.Err() == nil {
				a.opts.Logger.Warn("audit seal failed", "err", err)
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
			defer cancel()
			return a.Seal(final)
		}
	}
}

// Verify verifies the Auditor's log with its key, head store and options;
// see the package function Verify.
func (a *Auditor) Verify(ctx context.Context) (VerifyReport, error) {
	return verify(ctx, a.log, a.ring, VerifyOptions{
		Head:         a.opts.Head,
		AllowPruned:  a.opts.AllowPruned,
		SealInterval: a.opts.SealInterval,
		Now:          a.opts.Now,
	})
}

// CheckTail checks the log from the seal the head names (from record 1 if
// there is no head) to its end, as Verify would: that the seal is still
// there, and that every record after it is genuine, in place and linked.
// The daemon calls it at start. If it finds a problem, the Auditor stops
// sealing (Broken reports the problem) and CheckTail returns it; the error
// is for failures to read the log or the head.
func (a *Auditor) CheckTail(ctx context.Context) (*Problem, error) {
	ctx, cancel := a.bound(ctx)
	defer cancel()
	if err := a.lock(ctx); err != nil {
		return nil, fmt.Errorf("audit: check the tail: %w", err)
	}
	defer a.unlock()
	from := anchor{}
	if a.opts.Head != nil {
		data, err := a.opts.Head.Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: read the head: %w", err)
		}
		if data != nil {
			if h, err := decodeHead(data); err == nil && a.ring.get(h.KeyID) == nil {
				// Sealed after a rotation to a key not given to this
				// writer (or forged: either way it cannot go on).
				return nil, fmt.Errorf("audit: %w: the head is sealed with audit key %s", ErrKeyNotHeld, h.KeyID)
			}
			h, err := verifyHead(a.ring, data)
			if err != nil {
				a.breakOff(&Problem{Kind: ProblemForgedHead, Detail: err.Error()})
				return a.broken, nil
			}
			from = anchor{Seq: h.Seq, Hash: h.Hash, Seal: true}
			a.headStored = h.Seq
		}
	}
	c, err := walk(ctx, a.log, a.ring, VerifyOptions{AllowPruned: a.opts.AllowPruned}, from)
	if err != nil {
		return nil, fmt.Errorf("audit: check the tail: %w", err)
	}
	if p := a.caughtUp(c); p != nil {
		a.breakOff(p)
		return a.broken, nil
	}
	if a.lost != "" {
		return nil, fmt.Errorf("audit: %w: %s", ErrKeyNotHeld, a.lost)
	}
	if c.rep.Last > 0 {
		a.checked = anchor{Seq: c.rep.Last, Hash: c.prev}
	}
	a.tailChecked = true
	return nil, nil
}

// Broken returns the tampering the Auditor found, nil if none: then it
// no longer seals.
func (a *Auditor) Broken() *Problem {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	return a.brokenCopy
}

// breakOff records p as the reason to stop sealing; the caller holds the
// lock. The first problem stays.
func (a *Auditor) breakOff(p *Problem) {
	if a.broken != nil {
		return
	}
	a.broken = p
	a.stateMu.Lock()
	a.brokenCopy = p
	a.stateMu.Unlock()
	a.opts.Logger.Error("the audit log was tampered with: no longer sealing it; run pave audit verify", "problem", p.String())
}

// seal does Seal's work; the caller holds the lock.
func (a *Auditor) seal(ctx context.Context) error {
	if a.broken != nil {
		return fmt.Errorf("%w: %s", ErrBroken, a.broken)
	}
	if a.headKind == KindSeal {
		// Someone else may have appended since our seal: look.
		a.known = false
	}
	rec, err := a.append(ctx, func(seq uint64, prev Hash, now time.Time) (Record, bool) {
		if seq == 1 || a.headKind == KindSeal {
			return Record{}, false // nothing to seal
		}
		r := Record{Seq: seq, Kind: KindSeal, Time: now, Prev: prev}
		r.sign(a.key)
		return r, true
	})
	if err != nil {
		return err
	}
	if a.broken != nil { // found while refreshing
		return fmt.Errorf("%w: %s", ErrBroken, a.broken)
	}
	if rec.Seq == 0 {
		if a.headKind != KindSeal {
			return nil // empty log
		}
		// Already sealed, by us or another writer: make sure the head
		// names it.
		rec = Record{Seq: a.end, Kind: KindSeal, Hash: a.head}
	}
	a.lastSeal = max(a.lastSeal, rec.Seq)
	if a.opts.Head == nil || a.headStored >= rec.Seq {
		return nil
	}
	if err := a.opts.Head.Store(ctx, rec.Seq, signHead(a.key, rec, a.opts.Now())); err != nil {
		return fmt.Errorf("store the audit head: %w", err)
	}
	a.headStored = rec.Seq
	return nil
}

// append appends the record that build makes for the next sequence number
// and prev hash, trying again (with a fresh look at the log) when another
// writer appended first. build returns false to append nothing; append then
// returns a zero Record. The caller holds the lock.
func (a *Auditor) append(ctx context.Context, build func(seq uint64, prev Hash, now time.Time) (Record, bool)) (Record, error) {
	for attempt := 0; ; attempt++ {
		if !a.known {
			if err := a.refresh(ctx); err != nil {
				return Record{}, err
			}
		}
		if a.lost != "" {
			a.known = false // look again next time: the key may be given
			return Record{}, fmt.Errorf("%w: %s", ErrKeyNotHeld, a.lost)
		}
		rec, ok := build(a.end+1, a.head, a.opts.Now().UTC())
		if !ok || (rec.Kind == KindSeal && a.broken != nil) {
			return Record{}, nil
		}
		data := rec.encode(partAll)
		if len(data) > MaxRecordSize { // cannot happen: clean bounds every field
			return Record{}, fmt.Errorf("%w: %d bytes encoded", ErrInvalidEvent, len(data))
		}
		seq, err := a.log.Append(ctx, a.end, data)
		if err != nil {
			// Whatever the error, the log may have changed (a timeout
			// may follow a successful write): look again next time.
			a.known = false
			if !errors.Is(err, ErrConflict) {
				return Record{}, err
			}
			if attempt >= a.opts.Retries {
				return Record{}, fmt.Errorf("gave up after %d conflicting appends: %w", attempt+1, err)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return Record{}, err
			}
			continue
		}
		if seq != a.end+1 {
			a.known = false
			return Record{}, fmt.Errorf("the log stored record %d as %d", a.end+1, seq)
		}
		rec.raw = data
		if a.checked.Seq == a.end {
			a.checked = anchor{Seq: seq, Hash: rec.Hash}
		}
		a.end, a.head, a.headKind = seq, rec.Hash, rec.Kind
		if a.opts.Sink != nil {
			if err := a.opts.Sink.Send(rec); err != nil {
				a.opts.Logger.Warn("audit sink failed", "seq", seq, "err", err)
			}
		}
		return rec, nil
	}
}

// refresh reads the end of the log, and checks what others appended since
// the last record known to be genuine. The caller holds the lock.
func (a *Auditor) refresh(ctx context.Context) error {
	if err := a.follow(ctx); err != nil {
		return err
	}
	last, end, err := a.log.Last(ctx)
	if err != nil {
		return fmt.Errorf("read the end of the audit log: %w", err)
	}
	a.end, a.head, a.headKind = end, Hash{}, ""
	a.known = true
	if last.Seq == 0 {
		return nil
	}
	rec, err := DecodeRecord(last.Data)
	if err != nil {
		// Chain on from a zero hash; Verify reports the bad record.
		a.breakOff(&Problem{Seq: last.Seq, Kind: ProblemMalformed, Detail: err.Error()})
		return nil
	}
	if a.checked.Seq == 0 {
		// Nothing was checked before (CheckTail was not called): the
		// newest record at least must be genuine.
		k := a.ring.get(rec.KeyID)
		switch {
		case !rec.authenticated() || k == nil || !rec.checkMAC(k):
			a.breakOff(&Problem{Seq: rec.Seq, Kind: ProblemForged, Detail: "the newest record carries no valid MAC of the audit key: it was written without the key"})
		case last.Seq == end:
			a.checked = anchor{Seq: rec.Seq, Hash: rec.Hash}
		}
	}
	a.head = rec.Hash
	if last.Seq == end {
		a.headKind = rec.Kind
		if rec.Kind == KindSeal {
			a.lastSeal = max(a.lastSeal, rec.Seq)
		}
	}
	return nil
}

// follow checks the records appended after a.checked, by other writers
// or by someone without the key, and takes in their rotations. The caller
// holds the lock.
func (a *Auditor) follow(ctx context.Context) error {
	if (a.checked.Seq == 0 && !a.tailChecked) || a.broken != nil {
		return nil
	}
	c, err := walk(ctx, a.log, a.ring, VerifyOptions{AllowPruned: a.checked.Seq == 0 && a.opts.AllowPruned}, a.checked)
	if err != nil {
		return fmt.Errorf("check the end of the audit log: %w", err)
	}
	if p := a.caughtUp(c); p != nil {
		a.breakOff(p)
		return nil
	}
	if a.lost == "" && c.rep.Last > 0 {
		a.checked = anchor{Seq: c.rep.Last, Hash: c.prev}
	}
	return nil
}

func (a *Auditor) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.opts.Timeout)
}

func (a *Auditor) lock(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Auditor) unlock() { <-a.sem }

// backoff is a short random wait that grows with the attempts, so that
// racing writers spread out.
func backoff(attempt int) time.Duration {
	ceiling := time.Duration(min(attempt+1, 20)) * time.Millisecond
	return rand.N(ceiling) + time.Millisecond/2
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
