package secrets

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/pave-dev/pave/internal/store"
)

// errGone means a record was removed while a rotation worked on it.
var errGone = errors.New("record removed")

// rewrapped is one record re-wrapped under the next master key, ready to
// replace revision rev.
type rewrapped struct {
	key, name string
	rev       uint64
	value     []byte // nil when every version is already under the next key
	count     int    // versions re-wrapped
}

// RotateMaster re-wraps the data key of every version of every secret
// under next, and from then on seals new versions with next. Values are not
// re-encrypted: only the 32-byte data keys are.
//
// It works in two passes. The first reads every record, re-wraps each
// version's data key under next and proves the result by opening it with
// next alone and comparing the SHA-256 of the value with that of the value
// read before; any version that cannot be read (ErrCorrupt,
// ErrWrongMasterKey) stops the rotation before anything is written. The
// second pass writes the records, each with compare-and-swap on the
// revision it read; a record changed in between is read and re-wrapped
// again.
//
// Get keeps working throughout: from the start of the rotation the Store
// opens versions under either key. Set waits for the rotation to end, so no
// new version is sealed under the old key behind it. If a write fails, the
// Store keeps both keys, still seals with the old one, and the rotation can
// be run again with the same next key to finish; versions already under
// next are checked and left alone. Other daemons sharing the bucket must be
// given the new key before they read rotated records.
//
// It returns the number of versions re-wrapped.
func (s *Store) RotateMaster(ctx context.Context, next *MasterKey) (int, error) {
	return s.RotateMasterWith(ctx, next, nil)
}

// RotateMasterWith is RotateMaster calling begin, if set, once every
// version is proven readable and before anything is written: a daemon
// sharing the bucket with others records there that the rotation has
// begun. An error from begin stops the rotation with nothing written.
func (s *Store) RotateMasterWith(ctx context.Context, next *MasterKey, begin func(context.Context) error) (int, error) {
	if next == nil || next.aead == nil {
		return 0, errors.New("rotating the master key: no new key")
	}
	s.writers.Lock()
	defer s.writers.Unlock()

	old := s.ring.Load()
	if next.id == old.current.id {
		return 0, fmt.Errorf("rotating the master key: %s is already the key in use", next)
	}
	both := old.with(next)
	s.ring.Store(both)

	plan, err := s.planRotation(ctx, both, next)
	if err == nil && begin != nil {
		err = begin(ctx)
	}
	if err != nil {
		// Nothing was written.
		s.ring.Store(old)
		return 0, fmt.Errorf("rotating the master key to %s: nothing was changed: %w", next.id, err)
	}
	total := 0
	for _, r := range plan {
		n, err := s.commitRewrap(ctx, both, next, r)
		total += n
		if err != nil {
			return total, fmt.Errorf("rotating the master key to %s: %d versions were re-wrapped before an error; "+
				"secrets under either key stay readable; run the rotation again to finish: %w", next.id, total, err)
		}
	}
	s.ring.Store(&keyring{current: next})
	return total, nil
}

// Rewrap re-wraps every version not under the current master key, as the
// last pass of a rotation: a version sealed by another daemon under the
// old key while the rotation went on. Versions under a key this Store
// does not hold stop it, with nothing written.
func (s *Store) Rewrap(ctx context.Context) (int, error) {
	s.writers.Lock()
	defer s.writers.Unlock()
	ring := s.ring.Load()
	plan, err := s.planRotation(ctx, ring, ring.current)
	if err != nil {
		return 0, fmt.Errorf("re-wrapping under master key %s: nothing was changed: %w", ring.current.id, err)
	}
	total := 0
	for _, r := range plan {
		n, err := s.commitRewrap(ctx, ring, ring.current, r)
		total += n
		if err != nil {
			return total, fmt.Errorf("re-wrapping under master key %s: %w", ring.current.id, err)
		}
	}
	return total, nil
}

// Hold makes the Store open versions sealed by k too, without sealing new
// ones with it: the next master key of a rotation another daemon may
// begin, or the old one after a rotation.
func (s *Store) Hold(k *MasterKey) {
	if k == nil || k.aead == nil {
		return
	}
	s.writers.Lock()
	defer s.writers.Unlock()
	s.ring.Store(s.ring.Load().with(k))
}

// Promote makes the held key id the one that seals new versions, keeping
// every other key it holds for reading, and reports whether it holds that
// key. A daemon follows another's rotation with it.
func (s *Store) Promote(id string) bool {
	s.writers.Lock()
	defer s.writers.Unlock()
	ring := s.ring.Load()
	k := ring.find(id)
	if k == nil {
		return false
	}
	if k == ring.current {
		return true
	}
	others := []*MasterKey{ring.current}
	for _, o := range ring.others {
		if o != k {
			others = append(others, o)
		}
	}
	s.ring.Store(&keyring{current: k, others: others})
	return true
}

// Holds reports whether the Store holds the master key id.
func (s *Store) Holds(id string) bool { return s.ring.Load().find(id) != nil }

func (s *Store) planRotation(ctx context.Context, ring *keyring, next *MasterKey) ([]rewrapped, error) {
	keys, err := s.records.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	var plan []rewrapped
	for _, key := range keys {
		name, ok := nameOf(key)
		if !ok {
			continue
		}
		r, err := s.rewrap(ctx, ring, next, key, name)
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		plan = append(plan, r)
	}
	return plan, nil
}

// commitRewrap writes one re-wrapped record, re-reading and re-wrapping it
// if it changed since it was read.
func (s *Store) commitRewrap(ctx context.Context, ring *keyring, next *MasterKey, r rewrapped) (int, error) {
	for range maxAttempts {
		if r.value == nil {
			return 0, nil
		}
		_, err := s.records.Update(ctx, r.key, r.value, r.rev)
		if err == nil {
			return r.count, nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("storing secret %q: %w", r.name, err)
		}
		r, err = s.rewrap(ctx, ring, next, r.key, r.name)
		if errors.Is(err, errGone) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("storing secret %q: %w after %d attempts", r.name, store.ErrConflict, maxAttempts)
}

// rewrap reads the record at key and re-wraps every version not yet under
// next, proving each one readable with next alone.
func (s *Store) rewrap(ctx context.Context, ring *keyring, next *MasterKey, key, name string) (rewrapped, error) {
	e, err := s.records.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return rewrapped{}, errGone
	}
	if err != nil {
		return rewrapped{}, fmt.Errorf("reading secret %q: %w", name, err)
	}
	rec, err := decodeRecord(name, e.Value)
	if err != nil {
		return rewrapped{}, err
	}
	onlyNext := &keyring{current: next}
	r := rewrapped{key: key, name: name, rev: e.Revision}
	for i := range rec.Versions {
		v := &rec.Versions[i]
		before, err := digest(ring, name, v)
		if err != nil {
			return rewrapped{}, err
		}
		if v.MasterID == next.id {
			continue // already rotated, and just proven readable
		}
		dk, err := ring.find(v.MasterID).unwrap(name, v.Number, v.WrappedDK)
		if err != nil {
			// digest opened it a moment ago; this cannot happen.
			return rewrapped{}, fmt.Errorf("%w: secret %q version %d", ErrCorrupt, name, v.Number)
		}
		wrapped, err := next.wrap(name, v.Number, dk)
		clear(dk)
		if err != nil {
			return rewrapped{}, err
		}
		nv := *v
		nv.MasterID, nv.WrappedDK = next.id, wrapped
		after, err := digest(onlyNext, name, &nv)
		if err != nil || subtle.ConstantTimeCompare(before[:], after[:]) != 1 {
			return rewrapped{}, fmt.Errorf("secret %q version %d does not read back the same after re-wrapping", name, v.Number)
		}
		*v = nv
		r.count++
	}
	if r.count > 0 {
		if r.value, err = encodeRecord(rec); err != nil {
			return rewrapped{}, err
		}
	}
	return r, nil
}

// digest opens v and returns the SHA-256 of its value.
func digest(ring *keyring, name string, v *sealed) ([sha256.Size]byte, error) {
	plain, err := ring.open(name, v)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	defer clear(plain)
	return sha256.Sum256(plain), nil
}
