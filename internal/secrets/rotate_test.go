package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// fill sets versions values of each of n secrets and returns them by name,
// by version number.
func fill(t *testing.T, s *secrets.Store, n, versions int) map[string]map[int]string {
	t.Helper()
	all := map[string]map[int]string{}
	for i := range n {
		name := fmt.Sprintf("s%02d.key", i)
		all[name] = map[int]string{}
		for range versions {
			v := canary()
			num, err := s.Set(context.Background(), name, secret.Value(v))
			if err != nil {
				t.Fatal(err)
			}
			all[name][num] = v
		}
	}
	return all
}

// readAll reads every version through s and fails on any difference.
func readAll(t *testing.T, s *secrets.Store, all map[string]map[int]string) {
	t.Helper()
	for name, vs := range all {
		for num, want := range vs {
			got, n, err := s.Get(context.Background(), name, num)
			if err != nil || n != num || got.Reveal() != want {
				t.Fatalf("%s version %d: got version %d, %v, match %v", name, num, n, err, got.Reveal() == want)
			}
		}
	}
}

// masterIDs counts the versions in recs wrapped by each master key.
func masterIDs(t *testing.T, recs *memRecords) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, raw := range recs.snapshot() {
		for _, v := range decodeStored(t, []byte(raw)).Versions {
			ids[v.MasterID]++
		}
	}
	return ids
}

func TestRotateMasterWithConcurrentReaders(t *testing.T) {
	s, recs, k1 := newStore(t)
	ctx := context.Background()
	all := fill(t, s, 10, 3)
	k2 := newKey(t)

	var reads atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				for name, vs := range all {
					for num, want := range vs {
						got, n, err := s.Get(ctx, name, num)
						if err != nil || n != num || got.Reveal() != want {
							t.Errorf("during rotation, %s version %d: version %d, %v, match %v",
								name, num, n, err, got.Reveal() == want)
							stop.Store(true)
							return
						}
						reads.Add(1)
					}
				}
			}
		})
	}
	// Let readers run between every write of the rotation.
	recs.beforeUpdate = func(string) error {
		target := reads.Load() + 20
		for reads.Load() < target && !stop.Load() {
			runtime.Gosched()
		}
		return nil
	}
	n, err := s.RotateMaster(ctx, k2)
	recs.beforeUpdate = nil
	// Keep reading a little after the switch to the new key alone.
	target := reads.Load() + 200
	for reads.Load() < target && !stop.Load() {
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	if err != nil || n != 30 {
		t.Fatalf("RotateMaster = %d, %v; want 30", n, err)
	}
	t.Logf("%d concurrent reads", reads.Load())

	if ids := masterIDs(t, recs); ids[k2.ID()] != 30 || len(ids) != 1 {
		t.Fatalf("after rotation: versions by master key %v", ids)
	}
	if s.MasterKeyID() != k2.ID() {
		t.Fatalf("the store seals with %s", s.MasterKeyID())
	}
	readAll(t, s, all)
	readAll(t, secrets.NewStore(recs, k2, nil), all)
	getMustFail(t, secrets.NewStore(recs, k1, nil), "s00.key", 1, secrets.ErrWrongMasterKey)

	// New versions are sealed with the new key.
	if _, err := s.Set(ctx, "s00.key", "after rotation"); err != nil {
		t.Fatal(err)
	}
	if ids := masterIDs(t, recs); ids[k2.ID()] != 31 {
		t.Fatalf("new version: versions by master key %v", ids)
	}
	if _, err := s.RotateMaster(ctx, k2); err == nil {
		t.Fatal("rotating to the key in use succeeded")
	}
}

// A reader that loaded the keys before a rotation and reads the record
// after it was re-wrapped still gets the value: it notices that the keys
// changed and reads again.
func TestGetAcrossARotation(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	v := canary()
	if _, err := s.Set(ctx, "x", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	inGet, rotated := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	recs.beforeGet = func(string) {
		if first.CompareAndSwap(true, false) {
			close(inGet)
			<-rotated
		}
	}
	var got secret.Value
	var err error
	var wg sync.WaitGroup
	wg.Go(func() { got, _, err = s.Get(ctx, "x", 0) })
	<-inGet
	n, rerr := s.RotateMaster(ctx, newKey(t))
	close(rotated)
	wg.Wait()
	recs.beforeGet = nil
	if rerr != nil || n != 1 {
		t.Fatalf("RotateMaster = %d, %v", n, rerr)
	}
	if err != nil || got.Reveal() != v {
		t.Fatalf("Get across the rotation: %v", err)
	}
}

// The first pass proves every version readable before anything is
// written.
func TestRotateMasterWritesNothingWhenAVersionIsUnreadable(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, recs *memRecords)
		want   error
	}{
		{"corrupt ciphertext", func(t *testing.T, recs *memRecords) {
			rec := decodeStored(t, recs.raw(t, "s.s01=key"))
			rec.Versions[1].Ciphertext[0] ^= 1
			recs.put("s.s01=key", encodeStored(t, rec))
		}, secrets.ErrCorrupt},
		{"malformed record", func(t *testing.T, recs *memRecords) {
			recs.put("s.s01=key", []byte("{"))
		}, secrets.ErrCorrupt},
		{"version under an unknown key", func(t *testing.T, recs *memRecords) {
			other := secrets.NewStore(recs, newKey(t), nil)
			if _, err := other.Set(context.Background(), "foreign", secret.Value(canary())); err != nil {
				t.Fatal(err)
			}
		}, secrets.ErrWrongMasterKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, recs, k1 := newStore(t)
			all := fill(t, s, 3, 2)
			tt.damage(t, recs)
			before := recs.snapshot()
			recs.updates = 0
			n, err := s.RotateMaster(context.Background(), newKey(t))
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("RotateMaster = %d, %v; want %v", n, err, tt.want)
			}
			if recs.updates != 0 || !maps.Equal(before, recs.snapshot()) {
				t.Fatal("a failed rotation wrote records")
			}
			if s.MasterKeyID() != k1.ID() {
				t.Fatal("a failed rotation changed the key")
			}
			delete(all, "s01.key")
			readAll(t, s, all)
		})
	}
}

// A rotation interrupted by a failing write leaves every secret readable
// and can be run again to finish.
func TestRotateMasterResumes(t *testing.T) {
	s, recs, k1 := newStore(t)
	ctx := context.Background()
	all := fill(t, s, 5, 2)
	k2 := newKey(t)
	boom := errors.New("bucket unavailable")
	calls := 0
	recs.beforeUpdate = func(string) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	}
	n, err := s.RotateMaster(ctx, k2)
	recs.beforeUpdate = nil
	if !errors.Is(err, boom) || n != 4 {
		t.Fatalf("interrupted RotateMaster = %d, %v; want 4 and the write error", n, err)
	}
	if ids := masterIDs(t, recs); ids[k1.ID()] != 6 || ids[k2.ID()] != 4 {
		t.Fatalf("after the interruption: %v", ids)
	}
	readAll(t, s, all)
	// Until the rotation finishes, new versions are sealed with the old key.
	if s.MasterKeyID() != k1.ID() {
		t.Fatalf("the store seals with %s", s.MasterKeyID())
	}
	v := canary()
	num, err := s.Set(ctx, "s00.key", secret.Value(v))
	if err != nil {
		t.Fatal(err)
	}
	all["s00.key"][num] = v

	n, err = s.RotateMaster(ctx, k2)
	if err != nil || n != 7 {
		t.Fatalf("second RotateMaster = %d, %v; want 7", n, err)
	}
	if ids := masterIDs(t, recs); ids[k2.ID()] != 11 || len(ids) != 1 {
		t.Fatalf("after finishing: %v", ids)
	}
	readAll(t, s, all)
	readAll(t, secrets.NewStore(recs, k2, nil), all)
}

// A record changed by another writer between the passes is re-read and
// re-wrapped with its new version.
func TestRotateMasterRetriesOnConflict(t *testing.T) {
	s, recs, k1 := newStore(t)
	ctx := context.Background()
	all := fill(t, s, 2, 1)
	other := secrets.NewStore(recs, k1, nil) // another daemon
	k2 := newKey(t)
	fired := false
	recs.beforeUpdate = func(key string) error {
		if fired {
			return nil
		}
		fired = true
		v := canary()
		num, err := other.Set(ctx, "s00.key", secret.Value(v))
		if err != nil {
			return err
		}
		all["s00.key"][num] = v
		return nil
	}
	n, err := s.RotateMaster(ctx, k2)
	recs.beforeUpdate = nil
	if err != nil || n != 3 {
		t.Fatalf("RotateMaster = %d, %v; want 3", n, err)
	}
	if ids := masterIDs(t, recs); ids[k2.ID()] != 3 || len(ids) != 1 {
		t.Fatalf("after rotation: %v", ids)
	}
	readAll(t, secrets.NewStore(recs, k2, nil), all)
}

// A Set that arrives during a rotation waits for it, and seals with the
// new key.
func TestSetDuringRotation(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	all := fill(t, s, 3, 1)
	k2 := newKey(t)
	var wg sync.WaitGroup
	var once sync.Once
	v := canary()
	var num int
	var setErr error
	recs.beforeUpdate = func(string) error {
		once.Do(func() {
			wg.Go(func() { num, setErr = s.Set(ctx, "s00.key", secret.Value(v)) })
		})
		runtime.Gosched()
		return nil
	}
	n, err := s.RotateMaster(ctx, k2)
	wg.Wait()
	recs.beforeUpdate = nil
	if err != nil || n != 3 || setErr != nil {
		t.Fatalf("RotateMaster = %d, %v; Set: %v", n, err, setErr)
	}
	all["s00.key"][num] = v
	if ids := masterIDs(t, recs); ids[k2.ID()] != 4 || len(ids) != 1 {
		t.Fatalf("versions by master key: %v", ids)
	}
	readAll(t, secrets.NewStore(recs, k2, nil), all)
}

// Two stores on one bucket, as two nodes: the second holds the next key,
// follows the first's rotation with Promote, and seals with the new key;
// what it sealed under the old key meanwhile is re-wrapped by Rewrap. A
// begin that fails stops the rotation with nothing written.
func TestRotationFollowedByAnotherStore(t *testing.T) {
	s, recs, k1 := newStore(t)
	ctx := context.Background()
	all := fill(t, s, 3, 1)
	other := secrets.NewStore(recs, k1, nil)
	k2 := newKey(t)
	other.Hold(k2)
	if other.MasterKeyID() != k1.ID() || !other.Holds(k2.ID()) {
		t.Fatalf("Hold changed the sealing key, or holds nothing: %s", other.MasterKeyID())
	}

	refused := errors.New("recorded state changed")
	if n, err := s.RotateMasterWith(ctx, k2, func(context.Context) error { return refused }); !errors.Is(err, refused) || n != 0 {
		t.Fatalf("RotateMasterWith with a failing begin = %d, %v", n, err)
	}
	if ids := masterIDs(t, recs); ids[k1.ID()] != 3 || len(ids) != 1 {
		t.Fatalf("a refused rotation wrote: %v", ids)
	}

	began := false
	n, err := s.RotateMasterWith(ctx, k2, func(context.Context) error { began = true; return nil })
	if err != nil || n != 3 || !began {
		t.Fatalf("RotateMasterWith = %d, %v, began %v", n, err, began)
	}
	readAll(t, other, all) // the old key's store reads the new key's records

	// A version the other store sealed under the old key before it
	// followed, then Rewrap on the rotating store.
	v := canary()
	num, err := other.Set(ctx, "s00.key", secret.Value(v))
	if err != nil {
		t.Fatal(err)
	}
	all["s00.key"][num] = v
	s.Hold(k1)
	if n, err := s.Rewrap(ctx); err != nil || n != 1 {
		t.Fatalf("Rewrap = %d, %v; want 1", n, err)
	}
	if ids := masterIDs(t, recs); ids[k2.ID()] != 4 || len(ids) != 1 {
		t.Fatalf("after Rewrap: %v", ids)
	}

	if !other.Promote(k2.ID()) || other.MasterKeyID() != k2.ID() {
		t.Fatalf("Promote: the store seals with %s", other.MasterKeyID())
	}
	if other.Promote(newKey(t).ID()) {
		t.Fatal("Promote of a key the store does not hold succeeded")
	}
	v = canary()
	if num, err = other.Set(ctx, "s01.key", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	all["s01.key"][num] = v
	readAll(t, secrets.NewStore(recs, k2, nil), all)
}
