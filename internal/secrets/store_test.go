package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
)

func TestRoundTrip(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	values := map[string]string{
		"one-byte":  "x",
		"text":      canary(),
		"utf8":      "pässwörd ✓ " + canary(),
		"nul":       "a\x00b\x00" + canary(),
		"binary":    string(randomBytes(t, 1000)),
		"max.value": string(randomBytes(t, secrets.MaxValueLen)),
	}
	for name, v := range values {
		n, err := s.Set(ctx, name, secret.Value(v))
		if err != nil || n != 1 {
			t.Fatalf("Set(%s) = %d, %v; want 1, nil", name, n, err)
		}
	}
	for name, v := range values {
		for _, ver := range []int{0, 1} {
			got, n, err := s.Get(ctx, name, ver)
			if err != nil || n != 1 || got.Reveal() != v {
				t.Fatalf("Get(%s, %d): version %d, err %v, value matches: %v", name, ver, n, err, got.Reveal() == v)
			}
		}
	}
}

func TestVersions(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	vals := []string{canary(), canary(), canary()}
	for i, v := range vals {
		n, err := s.Set(ctx, "api", secret.Value(v))
		if err != nil || n != i+1 {
			t.Fatalf("Set #%d = %d, %v", i+1, n, err)
		}
	}
	for i, v := range vals {
		got, n, err := s.Get(ctx, "api", i+1)
		if err != nil || n != i+1 || got.Reveal() != v {
			t.Fatalf("Get version %d: %d, %v, match %v", i+1, n, err, got.Reveal() == v)
		}
	}
	got, n, err := s.Get(ctx, "api", 0)
	if err != nil || n != 3 || got.Reveal() != vals[2] {
		t.Fatalf("Get latest: %d, %v", n, err)
	}
	for _, ver := range []int{4, -1, 1 << 40} {
		if _, _, err := s.Get(ctx, "api", ver); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get version %d: %v, want ErrNotFound", ver, err)
		}
	}
	if _, _, err := s.Get(ctx, "missing", 0); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
}

func TestVersionCap(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	vals := map[int]string{}
	for i := 1; i <= secrets.MaxVersions+5; i++ {
		vals[i] = canary()
		if n, err := s.Set(ctx, "rotating", secret.Value(vals[i])); err != nil || n != i {
			t.Fatalf("Set #%d = %d, %v", i, n, err)
		}
	}
	for i := 1; i <= 5; i++ {
		if _, _, err := s.Get(ctx, "rotating", i); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("version %d, beyond the cap: %v, want ErrNotFound", i, err)
		}
	}
	for i := 6; i <= secrets.MaxVersions+5; i++ {
		if got, _, err := s.Get(ctx, "rotating", i); err != nil || got.Reveal() != vals[i] {
			t.Errorf("version %d: %v", i, err)
		}
	}
	infos, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs := infos[0].Versions
	if len(vs) != secrets.MaxVersions || vs[0].Number != 6 || vs[len(vs)-1].Number != secrets.MaxVersions+5 {
		t.Fatalf("versions kept: %+v", vs)
	}
}

// Large values keep fewer versions, so that a record fits in one NATS
// message.
func TestVersionCapBySize(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	vals := map[int][]byte{}
	for i := 1; i <= 10; i++ {
		vals[i] = randomBytes(t, secrets.MaxValueLen)
		if n, err := s.Set(ctx, "big", secret.Value(vals[i])); err != nil || n != i {
			t.Fatalf("Set #%d = %d, %v", i, n, err)
		}
		if l := len(recs.raw(t, "s.big")); l > 1<<20-64<<10 {
			t.Fatalf("after %d versions the record is %d bytes", i, l)
		}
	}
	rec := decodeStored(t, recs.raw(t, "s.big"))
	if len(rec.Versions) < 2 || len(rec.Versions) >= 10 || rec.Versions[len(rec.Versions)-1].Number != 10 {
		t.Fatalf("kept %d versions, the last numbered %d", len(rec.Versions), rec.Versions[len(rec.Versions)-1].Number)
	}
	for _, v := range rec.Versions {
		got, _, err := s.Get(ctx, "big", v.Number)
		if err != nil || !bytes.Equal([]byte(got.Reveal()), vals[v.Number]) {
			t.Fatalf("version %d: %v", v.Number, err)
		}
	}
}

// natsKey is the rule JetStream applies to key-value keys.
var natsKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestNames(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	long := "a" + strings.Repeat("b", secrets.MaxNameLen-1)
	valid := []string{"a", "Z", "db_password", "api.key-2", "a.", "a..b", "a.b", "a_b", "A-", long}
	for _, name := range valid {
		if !secrets.ValidName(name) {
			t.Errorf("ValidName(%q) = false", name)
		}
		v := canary()
		if _, err := s.Set(ctx, name, secret.Value(v)); err != nil {
			t.Fatalf("Set(%q): %v", name, err)
		}
		if got, _, err := s.Get(ctx, name, 0); err != nil || got.Reveal() != v {
			t.Fatalf("Get(%q): %v", name, err)
		}
	}
	// Each name has its own record, under a key JetStream accepts.
	keys, _ := recs.Keys(ctx)
	if len(keys) != len(valid) {
		t.Fatalf("%d names stored under %d keys: %q", len(valid), len(keys), keys)
	}
	for _, k := range keys {
		if !natsKey.MatchString(k) || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			t.Errorf("key %q is not a valid JetStream key", k)
		}
	}
	infos, err := s.List(ctx)
	if err != nil || len(infos) != len(valid) {
		t.Fatalf("List: %d infos, %v", len(infos), err)
	}

	invalid := []string{"", "1abc", "_a", ".a", "-a", "a b", "a/b", "a=b", "a:b", "a*", "a>", "a\x00b", "a\nb", "é", "aé",
		long + "c", strings.Repeat("x", 5000)}
	for _, name := range invalid {
		if secrets.ValidName(name) {
			t.Errorf("ValidName(%q) = true", name)
		}
		_, err := s.Set(ctx, name, "value")
		checkInvalidName(t, "Set", name, err)
		_, _, err = s.Get(ctx, name, 0)
		checkInvalidName(t, "Get", name, err)
		checkInvalidName(t, "Remove", name, s.Remove(ctx, name))
	}
}

func checkInvalidName(t *testing.T, op, name string, err error) {
	t.Helper()
	if !errors.Is(err, secrets.ErrInvalidName) {
		t.Errorf("%s(%q): %v, want ErrInvalidName", op, name, err)
		return
	}
	if len(name) > 3 && strings.Contains(err.Error(), name) {
		t.Errorf("%s: error %q repeats the name", op, err)
	}
}

func TestValues(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	big := canary() + strings.Repeat("v", secrets.MaxValueLen)
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"", false},
		{"x", true},
		{strings.Repeat("v", secrets.MaxValueLen), true},
		{big[:secrets.MaxValueLen+1], false},
		{big, false},
	} {
		_, err := s.Set(ctx, "v", secret.Value(tt.value))
		if tt.ok != (err == nil) {
			t.Errorf("Set of %d bytes: %v", len(tt.value), err)
		}
		if !tt.ok {
			if !errors.Is(err, secrets.ErrInvalidValue) {
				t.Errorf("Set of %d bytes: %v, want ErrInvalidValue", len(tt.value), err)
			}
			if len(tt.value) > 0 && strings.Contains(err.Error(), tt.value[:20]) {
				t.Errorf("error %q contains the value", err)
			}
		}
	}
}

func TestListNeverContainsValues(t *testing.T) {
	s, _, mk := newStore(t)
	ctx := context.Background()
	var values []string
	for _, name := range []string{"zeta", "alpha", "mid.dle"} {
		for range 3 {
			v := canary()
			values = append(values, v)
			if _, err := s.Set(ctx, name, secret.Value(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	infos, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(infos)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v))} {
			if bytes.Contains(out, []byte(form)) {
				t.Fatalf("List output contains a value: %s", out)
			}
		}
	}
	if len(infos) != 3 || infos[0].Name != "alpha" || infos[1].Name != "mid.dle" || infos[2].Name != "zeta" {
		t.Fatalf("List = %s", out)
	}
	for _, info := range infos {
		if len(info.Versions) != 3 {
			t.Fatalf("%s: %d versions", info.Name, len(info.Versions))
		}
		last := info.Versions[2]
		if !info.CreatedAt.Equal(info.Versions[0].CreatedAt) || !info.RotatedAt.Equal(last.CreatedAt) ||
			!info.RotatedAt.After(info.CreatedAt) {
			t.Errorf("%s: times %+v", info.Name, info)
		}
		for i, v := range info.Versions {
			if v.Number != i+1 || v.MasterKeyID != mk.ID() {
				t.Errorf("%s: version %+v", info.Name, v)
			}
		}
	}
}

func TestRemove(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for range 2 {
		if _, err := s.Set(ctx, "gone", secret.Value(canary())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Set(ctx, "kept", secret.Value(canary())); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, ver := range []int{0, 1, 2} {
		if _, _, err := s.Get(ctx, "gone", ver); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get after Remove: %v", err)
		}
	}
	if err := s.Remove(ctx, "gone"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	infos, _ := s.List(ctx)
	if len(infos) != 1 || infos[0].Name != "kept" {
		t.Errorf("List after Remove: %+v", infos)
	}
	// The name starts over.
	if n, err := s.Set(ctx, "gone", secret.Value(canary())); err != nil || n != 1 {
		t.Errorf("Set after Remove = %d, %v", n, err)
	}
}

// Concurrent Sets of one secret all land, each with its own number.
func TestConcurrentSet(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	const workers, each = 4, 5
	var mu sync.Mutex
	got := map[int]string{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				v := canary()
				n, err := s.Set(ctx, "shared", secret.Value(v))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := got[n]; dup {
					t.Errorf("version %d returned twice", n)
				}
				got[n] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for n := 1; n <= workers*each; n++ {
		v, ok := got[n]
		if !ok {
			t.Fatalf("version %d was never returned", n)
		}
		if val, _, err := s.Get(ctx, "shared", n); err != nil || val.Reveal() != v {
			t.Fatalf("version %d: %v", n, err)
		}
	}
}

// What the bucket holds is ciphertext, in the documented form.
func TestRecordAtRest(t *testing.T) {
	s, recs, mk := newStore(t)
	ctx := context.Background()
	v := canary()
	for range 2 {
		if _, err := s.Set(ctx, "db.password", secret.Value(v)); err != nil {
			t.Fatal(err)
		}
	}
	raw := recs.raw(t, "s.db=password")
	for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		hex.EncodeToString([]byte(v))} {
		if bytes.Contains(raw, []byte(form)) {
			t.Fatalf("the stored record contains the value")
		}
	}
	rec := decodeStored(t, raw)
	if rec.Format != 1 || rec.Name != "db.password" || len(rec.Versions) != 2 {
		t.Fatalf("record %+v", rec)
	}
	a, b := rec.Versions[0], rec.Versions[1]
	for _, sv := range rec.Versions {
		if sv.MasterID != mk.ID() || len(sv.WrappedDK) != 12+32+16 || len(sv.Nonce) != 12 || len(sv.Ciphertext) != len(v)+16 {
			t.Fatalf("version %d: master %s, wrapped %d, nonce %d, ciphertext %d bytes",
				sv.Number, sv.MasterID, len(sv.WrappedDK), len(sv.Nonce), len(sv.Ciphertext))
		}
	}
	// The same value twice: fresh data key, nonces and ciphertext.
	if bytes.Equal(a.WrappedDK, b.WrappedDK) || bytes.Equal(a.Nonce, b.Nonce) || bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Fatal("two versions share key material")
	}
}

func TestSetLeavesCorruptRecordAlone(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.Set(ctx, "x", secret.Value(canary())); err != nil {
		t.Fatal(err)
	}
	recs.put("s.x", []byte(`{"format":1,"name":"x","versions":[`))
	if _, err := s.Set(ctx, "x", secret.Value(canary())); !errors.Is(err, secrets.ErrCorrupt) {
		t.Fatalf("Set over a corrupt record: %v", err)
	}
	if got := recs.raw(t, "s.x"); string(got) != `{"format":1,"name":"x","versions":[` {
		t.Fatal("Set overwrote the corrupt record")
	}
	if _, err := s.List(ctx); !errors.Is(err, secrets.ErrCorrupt) {
		t.Fatalf("List with a corrupt record: %v", err)
	}
	if err := s.Remove(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Set(ctx, "x", secret.Value(canary())); err != nil || n != 1 {
		t.Fatalf("Set after Remove = %d, %v", n, err)
	}
}

func TestStoreErrorsPassThrough(t *testing.T) {
	s, recs, _ := newStore(t)
	ctx := context.Background()
	v := canary()
	if _, err := s.Set(ctx, "x", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("bucket unavailable")
	recs.beforeUpdate = func(string) error { return boom }
	_, err := s.Set(ctx, "x", secret.Value(canary()))
	if !errors.Is(err, boom) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("Set with a failing bucket: %v", err)
	}
	if got, n, err := s.Get(ctx, "x", 0); err != nil || n != 1 || got.Reveal() != v {
		t.Fatalf("Get after a failed Set: %d, %v", n, err)
	}
}

// TestStat describes one secret from its record alone: its versions after
// two sets, ErrNotFound for a name never set or removed, ErrInvalidName
// for a name that cannot be one.
func TestStat(t *testing.T) {
	s, _, mk := newStore(t)
	ctx := context.Background()
	for range 2 {
		if _, err := s.Set(ctx, "db.url", secret.Value(canary())); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.Stat(ctx, "db.url")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "db.url" || len(info.Versions) != 2 || info.Versions[1].Number != 2 || info.Versions[1].MasterKeyID != mk.ID() {
		t.Errorf("Stat = %+v, want db.url with versions 1 and 2 under %s", info, mk.ID())
	}
	if _, err := s.Stat(ctx, "never.set"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Stat of a name never set = %v, want ErrNotFound", err)
	}
	if err := s.Remove(ctx, "db.url"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "db.url"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Stat of a removed secret = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "no spaces"); !errors.Is(err, secrets.ErrInvalidName) {
		t.Errorf("Stat of an invalid name = %v, want ErrInvalidName", err)
	}
}
