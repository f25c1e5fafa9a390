package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors callers match with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict means the value changed since it was read.
	ErrConflict = errors.New("revision conflict")
)

// kvTimeout bounds one request of a bucket's call whatever the caller's
// deadline: a request sent just before the server went away is never
// answered, and would otherwise wait for the caller's deadline (a
// function's whole timeout) before the call reports ErrUnavailable.
const kvTimeout = 5 * time.Second

// bound returns ctx with a deadline at most kvTimeout away.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= kvTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, kvTimeout)
}

// keysStart bounds how long Keys waits for a listing to start.
const keysStart = 2 * time.Second

// errKeysSlow is why Keys gives up on a listing that does not start.
var errKeysSlow = fmt.Errorf("%w: the listing did not start within %s", ErrUnavailable, keysStart)

// Entry is one value of a key-value bucket.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
	// Deleted is set on watch updates for removed keys.
	Deleted bool
}

// KV is a JetStream key-value bucket. While the connection to NATS is down,
// its calls fail at once with ErrUnavailable instead of waiting for it to
// come back.
type KV struct {
	kv jetstream.KeyValue
	n  *NATS
}

// down returns ErrUnavailable while the connection to NATS is down.
func (k *KV) down() error {
	if k.n != nil && !k.n.Connected() {
		return fmt.Errorf("%w: bucket %s: the connection to nats is down", ErrUnavailable, k.kv.Bucket())
	}
	return nil
}

// Get returns the current value of key, or ErrNotFound.
func (k *KV) Get(ctx context.Context, key string) (Entry, error) {
	if err := k.down(); err != nil {
		return Entry{}, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	e, err := k.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, mapErr(err)
	}
	return Entry{Key: key, Value: e.Value(), Revision: e.Revision()}, nil
}

// Create stores key only if it does not exist (or was deleted).
func (k *KV) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := k.down(); err != nil {
		return 0, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	rev, err := k.kv.Create(ctx, key, value)
	return rev, mapErr(err)
}

// Update stores key only if its revision is still rev.
func (k *KV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := k.down(); err != nil {
		return 0, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	rev, err := k.kv.Update(ctx, key, value, rev)
	return rev, mapErr(err)
}

// Put stores key unconditionally.
func (k *KV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := k.down(); err != nil {
		return 0, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	rev, err := k.kv.Put(ctx, key, value)
	return rev, mapErr(err)
}

// Delete removes key if its revision is still rev.
func (k *KV) Delete(ctx context.Context, key string, rev uint64) error {
	if err := k.down(); err != nil {
		return err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	return mapErr(k.kv.Delete(ctx, key, jetstream.LastRevision(rev)))
}

// Watch calls fn for every current entry, then calls ready once, then calls
// fn for every later change until ctx is done. fn runs on one goroutine, in
// order. Watch returns after ready has been called, or with an error and
// without calling ready if ctx ends, or the watch stops, before the current
// entries have all been replayed.
//
// Each time the connection to NATS comes back, the watch is made anew from
// the revision after the last one delivered (see follow).
func (k *KV) Watch(ctx context.Context, fn func(Entry), ready func()) error {
	// Listen for reconnections from before the watch is made, so that none
	// is missed in between.
	var reconnected chan nats.Status
	if k.n != nil && k.n.nc != nil {
		reconnected = k.n.nc.StatusChanged(nats.CONNECTED)
	}
	unlisten := func() {
		if reconnected != nil {
			k.n.nc.RemoveStatusListener(reconnected)
		}
	}
	w, err := k.kv.WatchAll(ctx)
	if err != nil {
		unlisten()
		return fmt.Errorf("watch %s: %w", k.kv.Bucket(), err)
	}
	// Replay the current values synchronously so that callers start with a
	// complete view, unless ctx ends first.
	var last uint64
replay:
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			unlisten()
			return fmt.Errorf("watch %s: %w", k.kv.Bucket(), ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				unlisten()
				return fmt.Errorf("watch %s: stopped before its replay ended", k.kv.Bucket())
			}
			if e == nil {
				break replay
			}
			last = max(last, e.Revision())
			fn(toEntry(e))
		}
	}
	ready()
	go func() {
		defer unlisten()
		k.follow(ctx, w, last, reconnected, fn)
	}()
	return nil
}

// follow calls fn for every change w reports after revision last, until
// ctx is done or the connection is closed.
//
// A watch is an ordered consumer that lives on one server of the cluster.
// When the server the connection was on stops, the consumer may have gone
// with it, and the client notices only when two of its idle heartbeats,
// five seconds apart, have been missed: a change made meanwhile reached
// this node 10 to 20 seconds late. So each time the connection comes back,
// follow makes a new watch that starts at the revision after the last one
// delivered, retrying while JetStream does not answer, and drops the old
// one once the new one is made; until then the old one is still read. A
// watch that stops by itself (its consumer deleted on a server that
// went away) is made anew the same way.
//
// A watch made while the cluster is still electing leaders may stall, so
// for stallWindow after each reconnection follow also compares, every
// stallCheck, the revisions delivered with the bucket's last one, and
// makes the watch anew once a revision the bucket held at one check has
// not been delivered by the next. On an external server, which may be one
// of a cluster, it goes on comparing every steadyCheck outside that
// window: a server the connection is not on may stop with the watch's
// consumer, which no reconnection reports. Changes are delivered once each
// and in order whichever watch reports them.
func (k *KV) follow(ctx context.Context, w jetstream.KeyWatcher, last uint64, reconnected <-chan nats.Status, fn func(Entry)) {
	updates := w.Updates() // nil while no watch is made
	var (
		made    chan jetstream.KeyWatcher // the watch being made, if one is
		again   bool                      // the connection came back again meanwhile
		rewatch = func(wait time.Duration) {
			made = make(chan jetstream.KeyWatcher, 1)
			go k.rewatch(ctx, last, wait, made)
		}
		checks     *time.Ticker
		tick       <-chan time.Time // checks' channel while checking
		checkUntil time.Time        // the end of the window after a reconnection
		held       uint64           // the bucket's last revision at the previous check, when above last
		steady     time.Duration    // the checks' period outside that window; 0: none
	)
	if k.n != nil && k.n.srv == nil {
		steady = steadyCheck
		checks = time.NewTicker(steady)
		tick = checks.C
	}
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
		if checks != nil {
			checks.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			if made != nil {
				if nw := <-made; nw != nil {
					_ = nw.Stop()
				}
			}
			return
		case _, ok := <-reconnected:
			if !ok {
				reconnected = nil
				continue
			}
			checkUntil, held = time.Now().Add(stallWindow), 0
			if checks == nil {
				checks = time.NewTicker(stallCheck)
			} else {
				checks.Reset(stallCheck)
			}
			tick = checks.C
			if made != nil {
				again = true
			} else {
				rewatch(0)
			}
		case <-tick:
			if !checkUntil.IsZero() && time.Now().After(checkUntil) {
				checkUntil = time.Time{}
				if steady == 0 {
					checks.Stop()
					tick = nil
					continue
				}
				checks.Reset(steady)
			}
			switch {
			case made != nil:
			case held > last:
				k.n.log.Info("a watch of the store stalled; watching again", "bucket", k.kv.Bucket(), "revision", last, "bucket_revision", held)
				held = 0
				rewatch(0)
			default:
				held = k.lastRevision(ctx)
			}
		case nw := <-made:
			made = nil
			if nw == nil {
				continue // ctx ended
			}
			if w != nil {
				_ = w.Stop()
			}
			w, updates = nw, nw.Updates()
			if again {
				again = false
				rewatch(0)
			}
		case e, ok := <-updates:
			if !ok {
				_ = w.Stop()
				w, updates = nil, nil
				if k.n == nil || k.n.nc.IsClosed() {
					return
				}
				if made == nil {
					k.n.log.Debug("a watch of the store stopped; watching again", "bucket", k.kv.Bucket(), "revision", last)
					rewatch(rewatchRetry)
				}
				continue
			}
			if e != nil && e.Revision() > last {
				last = e.Revision()
				fn(toEntry(e))
			}
		}
	}
}

// After a reconnection, a watch is checked for a stall every stallCheck
// for stallWindow; on an external server, every steadyCheck otherwise. A
// check is one request for the bucket's state, so the steady checks cost
// a node one request every steadyCheck for each bucket it watches.
const (
	stallCheck  = time.Second
	stallWindow = time.Minute
	steadyCheck = 2 * time.Second
)

// lastRevision is the revision of the bucket's last change, 0 if it
// cannot be read within stallCheck.
func (k *KV) lastRevision(ctx context.Context) uint64 {
	ctx, cancel := context.WithTimeout(ctx, stallCheck)
	defer cancel()
	st, err := k.kv.Status(ctx)
	if err != nil {
		return 0
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		return bs.StreamInfo().State.LastSeq
	}
	return 0
}

// Each attempt to make a watch anew waits rewatchTimeout for JetStream to
// answer, then the next begins after rewatchRetry: while a stream elects
// a leader, a request may go unanswered.
const (
	rewatchTimeout = time.Second
	rewatchRetry   = 100 * time.Millisecond
)

// rewatch makes a watch of the changes after revision last, after wait,
// trying until JetStream answers, and sends it on made; nil once ctx ends.
func (k *KV) rewatch(ctx context.Context, last uint64, wait time.Duration, made chan<- jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			made <- nil
			return
		case <-time.After(wait):
		}
		wctx, cancel := context.WithTimeout(ctx, rewatchTimeout)
		w, err := k.kv.WatchAll(wctx, jetstream.ResumeFromRevision(last+1))
		cancel()
		if err == nil {
			made <- w
			return
		}
		wait = rewatchRetry
	}
}

func toEntry(e jetstream.KeyValueEntry) Entry {
	op := e.Operation()
	return Entry{
		Key:      e.Key(),
		Value:    e.Value(),
		Revision: e.Revision(),
		Deleted:  op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge,
	}
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case errors.Is(err, jetstream.ErrKeyExists):
		return fmt.Errorf("%w: %v", ErrExists, err)
	}
	return unavailable(err)
}

// Keys returns up to limit keys that start with prefix, sorted, and whether
// more matched. It reads the bucket's key index, so its cost grows with the
// bucket; callers bound what they ask for.
//
// Listing starts with the creation of a consumer, which waits for the
// stream's leader: with none (the server holding the stream is down) it
// would wait for ctx. It fails with ErrUnavailable instead if the listing
// has not started within keysStart, as Get and Put fail at once.
func (k *KV) Keys(ctx context.Context, prefix string, limit int) ([]string, bool, error) {
	if err := k.down(); err != nil {
		return nil, false, err
	}
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slow := time.AfterFunc(keysStart, func() { cancel(errKeysSlow) })
	defer slow.Stop()
	lister, err := k.kv.ListKeys(lctx)
	if context.Cause(lctx) == errKeysSlow {
		return nil, false, fmt.Errorf("listing bucket %s: %w", k.kv.Bucket(), errKeysSlow)
	}
	if err != nil {
		return nil, false, mapErr(err)
	}
	defer lister.Stop()
	seen := map[string]bool{}
	for key := range lister.Keys() {
		slow.Stop() // started
		if strings.HasPrefix(key, prefix) {
			seen[key] = true
		}
	}
	slow.Stop()
	if context.Cause(lctx) == errKeysSlow {
		return nil, false, fmt.Errorf("listing bucket %s: %w", k.kv.Bucket(), errKeysSlow)
	}
	if err := ctx.Err(); err != nil {
		// The listing ended with ctx, not with the last key.
		return nil, false, mapErr(err)
	}
	keys := make([]string, 0, len(seen))
	for key := range seen {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	return keys, more, nil
}

// Newest calls fn, oldest first, with the bucket's n most recently written
// current entries (deleted ones left out), and reports whether there are
// older ones. It reads the tail of the bucket's stream, widening the tail
// until it holds n entries, so its cost follows n and how often the keys
// are written again, not the bucket's size, as a listing of every key
// would.
func (k *KV) Newest(ctx context.Context, n int, fn func(Entry) error) (more bool, err error) {
	if err := k.down(); err != nil {
		return false, err
	}
	stream, err := k.n.js.Stream(ctx, kvStream(k.kv.Bucket()))
	if err != nil {
		return false, mapErr(err)
	}
	state := stream.CachedInfo().State
	if state.Msgs == 0 || n <= 0 {
		return state.Msgs > 0, nil
	}
	var entries []Entry
	for window := uint64(n); ; window *= 2 {
		start := state.FirstSeq
		if state.LastSeq-state.FirstSeq+1 > window {
			start = state.LastSeq - window + 1
		}
		if entries, err = k.tail(ctx, stream, start, state.LastSeq); err != nil {
			return false, err
		}
		if len(entries) >= n || start == state.FirstSeq {
			more = len(entries) > n || start > state.FirstSeq
			break
		}
	}
	for _, e := range entries[max(0, len(entries)-n):] {
		if err := fn(e); err != nil {
			return false, err
		}
	}
	return more, nil
}

// tail returns the current entries stored from sequence start to last.
func (k *KV) tail(ctx context.Context, stream jetstream.Stream, start, last uint64) ([]Entry, error) {
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, mapErr(err)
	}
	prefix := "$KV." + k.kv.Bucket() + "."
	var out []Entry
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			return nil, mapErr(err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, err
		}
		if meta.Sequence.Stream > last {
			return out, nil
		}
		if m.Headers().Get("KV-Operation") == "" { // not a delete or purge marker
			out = append(out, Entry{Key: strings.TrimPrefix(m.Subject(), prefix), Value: m.Data(), Revision: meta.Sequence.Stream})
		}
		if meta.NumPending == 0 || meta.Sequence.Stream == last {
			return out, nil
		}
	}
}
