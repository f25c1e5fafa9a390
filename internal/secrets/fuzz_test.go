package secrets_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// FuzzOpen stores arbitrary bytes as a secret's record and reads it. Nothing
// may panic, and a read may succeed only for a version this process sealed
// itself, returning exactly the value it sealed: bytes that are not an
// untouched genuine ciphertext never open, so the store cannot return a
// wrong plaintext. (Mutations of unauthenticated fields, such as the
// times, leave a genuine version openable; that is expected.)
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	recs := newMemRecords()
	s := secrets.NewStore(recs, newKey(f), nil)
	genuine := map[int]string{}
	for i := 1; i <= 2; i++ {
		v := canary()
		if _, err := s.Set(ctx, "f", secret.Value(v)); err != nil {
			f.Fatal(err)
		}
		genuine[i] = v
	}
	good := recs.raw(f, "s.f")
	f.Add(good)
	rec := decodeStored(f, good)
	rec.Versions[0].Ciphertext[3] ^= 0x20
	f.Add(encodeStored(f, rec))
	rec = decodeStored(f, good)
	rec.Versions[1], rec.Versions[0] = rec.Versions[0], rec.Versions[1]
	f.Add(encodeStored(f, rec))
	// A genuine record from another key.
	other := newMemRecords()
	if _, err := secrets.NewStore(other, newKey(f), nil).Set(ctx, "f", secret.Value(canary())); err != nil {
		f.Fatal(err)
	}
	f.Add(other.raw(f, "s.f"))
	for _, s := range []string{"", "{}", "null", `{"format":1,"name":"f","versions":[{}]}`, "\xff"} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		recs.put("s.f", b)
		for _, ver := range []int{0, 1, 2, 3} {
			got, n, err := s.Get(ctx, "f", ver)
			if err != nil {
				if !errors.Is(err, secrets.ErrCorrupt) && !errors.Is(err, secrets.ErrWrongMasterKey) &&
					!errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("Get: unexpected error %v", err)
				}
				for _, v := range genuine {
					if strings.Contains(err.Error(), v) {
						t.Fatalf("error %q contains a value", err)
					}
				}
				continue
			}
			if want, ok := genuine[n]; !ok || got.Reveal() != want || (ver != 0 && n != ver) {
				t.Fatalf("Get(f, %d) opened version %d to a value that was never sealed as it", ver, n)
			}
		}
		// Listing never decrypts, so never shows a value.
		infos, err := s.List(ctx)
		if err == nil {
			out, _ := json.Marshal(infos)
			for _, v := range genuine {
				if strings.Contains(string(out), v) {
					t.Fatal("List shows a value")
				}
			}
		} else if !errors.Is(err, secrets.ErrCorrupt) {
			t.Fatalf("List: unexpected error %v", err)
		}
	})
}

// FuzzParseMasterKey: any input either fails with ErrBadMasterKey, without
// quoting itself, or is the base64 of 32 bytes that reads back as the same
// key.
func FuzzParseMasterKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(randomBytes(f, 32)))
	f.Add(base64.RawURLEncoding.EncodeToString(randomBytes(f, 32)))
	f.Add(" " + base64.StdEncoding.EncodeToString(randomBytes(f, 32)) + "\n")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(base64.StdEncoding.EncodeToString(randomBytes(f, 31)))
	f.Add("")
	f.Add("=")
	f.Add("-+")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := secrets.ParseMasterKey(s)
		if err != nil {
			if k != nil || !errors.Is(err, secrets.ErrBadMasterKey) {
				t.Fatalf("ParseMasterKey: %v", err)
			}
			if trimmed := strings.TrimSpace(s); len(trimmed) > 3 && strings.Contains(err.Error(), trimmed) {
				t.Fatalf("error %q quotes its input", err)
			}
			return
		}
		var raw []byte
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(strings.TrimSpace(s)); err == nil {
				raw = b
				break
			}
		}
		if len(raw) != 32 {
			t.Fatalf("accepted an input that is not the base64 of 32 bytes")
		}
		again, err := secrets.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
		if err != nil || again.ID() != k.ID() {
			t.Fatalf("the same bytes gave another key: %v", err)
		}
	})
}
