package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// getMustFail reads version ver of name and requires an error matching
// want, with no value returned and none in the message.
func getMustFail(t *testing.T, s *secrets.Store, name string, ver int, want error, values ...string) {
	t.Helper()
	got, n, err := s.Get(context.Background(), name, ver)
	if !errors.Is(err, want) {
		t.Fatalf("Get(%s, %d) = version %d, %v; want %v", name, ver, n, err, want)
	}
	if got != "" || n != 0 {
		t.Fatalf("Get(%s, %d) failed but returned version %d and a value", name, ver, n)
	}
	for _, v := range values {
		if strings.Contains(err.Error(), v) {
			t.Fatalf("error %q contains a value", err)
		}
	}
}

// Every single-bit change of a wrapped key, nonce or ciphertext is caught,
// and never yields a plaintext.
func TestBitFlipsAreRejected(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	v1, v2 := canary(), canary()
	for _, v := range []string{v1, v2} {
		if _, err := s.Set(ctx, "flip", secret.Value(v)); err != nil {
			t.Fatal(err)
		}
	}
	orig := recs.raw(t, "s.flip")
	fields := map[string]func(*storedVersion) *[]byte{
		"wrapped_dk": func(v *storedVersion) *[]byte { return &v.WrappedDK },
		"nonce":      func(v *storedVersion) *[]byte { return &v.Nonce },
		"ciphertext": func(v *storedVersion) *[]byte { return &v.Ciphertext },
	}
	for fname, field := range fields {
		n := len(*field(&decodeStored(t, orig).Versions[0]))
		for bit := range n * 8 {
			rec := decodeStored(t, orig)
			f := field(&rec.Versions[0])
			(*f)[bit/8] ^= 1 << (bit % 8)
			recs.put("s.flip", encodeStored(t, rec))
			getMustFail(t, s, "flip", 1, secrets.ErrCorrupt, v1, v2)
		}
		// Shorter and longer fields too.
		for _, change := range []func([]byte) []byte{
			func(b []byte) []byte { return b[:len(b)-1] },
			func(b []byte) []byte { return append(b, 0) },
			func([]byte) []byte { return nil },
		} {
			rec := decodeStored(t, orig)
			f := field(&rec.Versions[0])
			*f = change(bytes.Clone(*f))
			recs.put("s.flip", encodeStored(t, rec))
			getMustFail(t, s, "flip", 1, secrets.ErrCorrupt, v1, v2)
		}
		t.Logf("%s: %d bit flips rejected", fname, n*8)
	}
	// The untouched record still opens.
	recs.put("s.flip", orig)
	if got, _, err := s.Get(ctx, "flip", 1); err != nil || got.Reveal() != v1 {
		t.Fatalf("original record: %v", err)
	}
}

// A ciphertext, nonce or wrapped key moved to another secret or another
// version does not open.
func TestMovedCiphertextsAreRejected(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	a1, a2, b1 := canary(), canary(), canary()
	for _, set := range []struct{ name, v string }{{"a", a1}, {"a", a2}, {"b", b1}} {
		if _, err := s.Set(ctx, set.name, secret.Value(set.v)); err != nil {
			t.Fatal(err)
		}
	}
	origA, origB := recs.raw(t, "s.a"), recs.raw(t, "s.b")
	vals := []string{a1, a2, b1}

	for _, tt := range []struct {
		name   string
		change func(a, b *storedRecord)
		read   string
		ver    int
	}{
		{"whole version from another secret", func(a, b *storedRecord) {
			b.Versions[0] = a.Versions[0]
		}, "b", 1},
		{"value ciphertext from another secret", func(a, b *storedRecord) {
			b.Versions[0].Nonce, b.Versions[0].Ciphertext = a.Versions[0].Nonce, a.Versions[0].Ciphertext
		}, "b", 1},
		{"wrapped key from another secret", func(a, b *storedRecord) {
			b.Versions[0].WrappedDK = a.Versions[0].WrappedDK
		}, "b", 1},
		{"versions swapped", func(a, _ *storedRecord) {
			v := a.Versions
			v[0].WrappedDK, v[1].WrappedDK = v[1].WrappedDK, v[0].WrappedDK
			v[0].Nonce, v[1].Nonce = v[1].Nonce, v[0].Nonce
			v[0].Ciphertext, v[1].Ciphertext = v[1].Ciphertext, v[0].Ciphertext
		}, "a", 1},
		{"value ciphertext from another version", func(a, _ *storedRecord) {
			v := a.Versions
			v[1].Nonce, v[1].Ciphertext = v[0].Nonce, v[0].Ciphertext
		}, "a", 2},
		{"version renumbered", func(a, _ *storedRecord) {
			a.Versions[1].Number = 3
		}, "a", 3},
		{"version renumbered down", func(a, _ *storedRecord) {
			a.Versions = a.Versions[1:]
			a.Versions[0].Number = 1
		}, "a", 1},
		{"record renamed", func(a, b *storedRecord) {
			*b = *a
			b.Name = "b"
		}, "b", 1},
		{"record of another secret", func(a, b *storedRecord) {
			*b = *a
		}, "b", 1},
		{"another format", func(a, _ *storedRecord) {
			a.Format = 2
		}, "a", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := decodeStored(t, origA), decodeStored(t, origB)
			tt.change(&a, &b)
			recs.put("s.a", encodeStored(t, a))
			recs.put("s.b", encodeStored(t, b))
			getMustFail(t, s, tt.read, tt.ver, secrets.ErrCorrupt, vals...)
			getMustFail(t, s, tt.read, 0, secrets.ErrCorrupt, vals...)
		})
	}
}

// A daemon with another master key fails closed, saying which keys are
// involved.
func TestWrongMasterKey(t *testing.T) {
	right, recs, k1 := newStore(t)
	ctx := context.Background()
	v := canary()
	if _, err := right.Set(ctx, "db", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	k2 := newKey(t)
	wrong := secrets.NewStore(recs, k2, nil)
	getMustFail(t, wrong, "db", 0, secrets.ErrWrongMasterKey, v)
	_, _, err := wrong.Get(ctx, "db", 1)
	want := fmt.Sprintf(`secret "db" version 1 was sealed by master key %s, this daemon has %s`, k1.ID(), k2.ID())
	if !strings.Contains(err.Error(), want) || errors.Is(err, secrets.ErrCorrupt) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	// Adding a version only the wrong key could read would fork the secret.
	before := recs.raw(t, "s.db")
	if _, err := wrong.Set(ctx, "db", secret.Value(canary())); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("Set with the wrong key: %v", err)
	}
	if !bytes.Equal(before, recs.raw(t, "s.db")) {
		t.Fatal("Set with the wrong key changed the record")
	}
	// Names and versions stay listable; the right key still reads.
	infos, err := wrong.List(ctx)
	if err != nil || len(infos) != 1 || infos[0].Versions[0].MasterKeyID != k1.ID() {
		t.Fatalf("List with the wrong key: %+v, %v", infos, err)
	}
	if got, _, err := right.Get(ctx, "db", 0); err != nil || got.Reveal() != v {
		t.Fatalf("right key: %v", err)
	}
	// A master key ID that is not an ID at all is damage, not a wrong key.
	rec := decodeStored(t, before)
	rec.Versions[0].MasterID = "not-an-id"
	recs.put("s.db", encodeStored(t, rec))
	getMustFail(t, right, "db", 0, secrets.ErrCorrupt, v)
}

// Records that are not a secret's record at all.
func TestMalformedRecords(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	v := canary()
	if _, err := s.Set(ctx, "m", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	good := recs.raw(t, "s.m")
	for _, b := range []string{
		"",
		"null",
		"[]",
		"{}",
		`{"format":1,"name":"m","versions":[]}`,
		string(good) + " {}",
		strings.Replace(string(good), `"format":1`, `"format":1,"extra":true`, 1),
		strings.Replace(string(good), `"number":1`, `"number":0`, 1),
		strings.Replace(string(good), `"number":1`, `"number":-1`, 1),
		strings.Replace(string(good), `"number":1`, `"number":1e3`, 1),
		strings.Replace(string(good), `"nonce":"`, `"nonce":"!`, 1),
		string(bytes.Repeat([]byte(" "), 1<<20)) + string(good),
	} {
		recs.put("s.m", []byte(b))
		getMustFail(t, s, "m", 0, secrets.ErrCorrupt, v)
	}
}
