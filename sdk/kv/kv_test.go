package kv

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

var allErrors = []error{ErrInvalid, ErrDenied, ErrNotFound, ErrConflict, ErrLimit, ErrUnavailable}

// only reports whether err matches want and none of the other sentinels.
func only(err, want error) bool {
	for _, e := range allErrors {
		if errors.Is(err, e) != (e == want) {
			return false
		}
	}
	return true
}

func TestOperationsOutsideWebAssembly(t *testing.T) {
	b := Open("orders")
	if b.Name() != "orders" {
		t.Errorf("Name() = %q", b.Name())
	}
	errs := map[string]error{}
	_, _, errs["get"] = b.Get("k")
	_, errs["put"] = b.Put("k", []byte("v"))
	_, errs["cas"] = b.CAS("k", nil, 0)
	errs["delete"] = b.Delete("k")
	_, errs["list"] = b.List("")
	for verb, err := range errs {
		if !only(err, ErrUnavailable) {
			t.Errorf("%s: error %v, want only %v", verb, err, ErrUnavailable)
			continue
		}
		if want := `kv: ` + verb + ` in bucket "orders": `; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %q, want it to start with %q", verb, err, want)
		}
	}
}

// Arguments the store would refuse are refused before calling the host, and
// the error quotes neither the key nor the value.
func TestInvalidArguments(t *testing.T) {
	const marker = "PRIVATE-MARKER"
	b := Open("orders")
	big := bytes.Repeat([]byte(marker), abi.MaxKVValue/len(marker)+1)
	badKeys := []string{"", ".hidden", "trailing.", "space " + marker, "semi;" + marker, "new\nline" + marker, strings.Repeat("k", abi.MaxKVKey+1), "é" + marker}
	tests := map[string]func() error{
		"put value too large": func() error { _, err := b.Put("k", big); return err },
		"cas value too large": func() error { _, err := b.CAS("k", big, 3); return err },
		"list prefix too long": func() error {
			_, err := b.List(marker + strings.Repeat("p", abi.MaxKVKey))
			return err
		},
	}
	for _, k := range badKeys {
		tests["get "+k] = func() error { _, _, err := b.Get(k); return err }
		tests["put "+k] = func() error { _, err := b.Put(k, []byte(marker)); return err }
		tests["cas "+k] = func() error { _, err := b.CAS(k, []byte(marker), 0); return err }
		tests["delete "+k] = func() error { return b.Delete(k) }
	}
	for name, f := range tests {
		err := f()
		if !only(err, ErrInvalid) {
			t.Errorf("%q: error %v, want only %v", name, err, ErrInvalid)
			continue
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("%q: error %q echoes the argument", name, err)
		}
	}
}

// Arguments at the limits pass the SDK's checks and reach the host.
func TestValidArguments(t *testing.T) {
	b := Open("orders")
	key := strings.Repeat("k", abi.MaxKVKey)
	value := make([]byte, abi.MaxKVValue)
	if _, err := b.Put(key, value); !only(err, ErrUnavailable) {
		t.Errorf("Put at the limits: %v, want %v from the (absent) host", err, ErrUnavailable)
	}
	if _, err := b.List(key); !only(err, ErrUnavailable) {
		t.Errorf("List at the limit: %v, want %v from the (absent) host", err, ErrUnavailable)
	}
	if _, _, err := b.Get("users/42/name=x_y-z.v2"); !only(err, ErrUnavailable) {
		t.Errorf("Get of a key using every punctuation allowed: %v", err)
	}
}

func TestKinds(t *testing.T) {
	for code, want := range map[int32]error{
		abi.ErrCodeInvalid:     ErrInvalid,
		abi.ErrCodeDenied:      ErrDenied,
		abi.ErrCodeNotFound:    ErrNotFound,
		abi.ErrCodeConflict:    ErrConflict,
		abi.ErrCodeLimit:       ErrLimit,
		abi.ErrCodeUnavailable: ErrUnavailable,
		-100:                   ErrUnavailable,
	} {
		if err := hostcall.Fail(hostcall.Op{Call: "op"}, kinds, code, ""); !only(err, want) {
			t.Errorf("code %d: %v, want only %v", code, err, want)
		}
	}
}

func TestDecodeEntry(t *testing.T) {
	value, rev, err := decodeEntry(hostcall.Op{Call: "op"}, abi.AppendKVEntry(nil, 1<<40+7, []byte("v1")))
	if err != nil || rev != 1<<40+7 || string(value) != "v1" {
		t.Errorf("decodeEntry = %q, %d, %v", value, rev, err)
	}
	value, rev, err = decodeEntry(hostcall.Op{Call: "op"}, abi.AppendKVEntry(nil, 3, nil))
	if err != nil || rev != 3 || len(value) != 0 {
		t.Errorf("decodeEntry of an empty value = %q, %d, %v", value, rev, err)
	}
	if _, _, err := decodeEntry(hostcall.Op{Call: "op"}, []byte{1, 2, 3}); !only(err, ErrUnavailable) || !strings.Contains(err.Error(), hostcall.ErrDecode) {
		t.Errorf("decodeEntry of 3 bytes: %v, want a malformed-result %v", err, ErrUnavailable)
	}
}

func TestDecodeRevision(t *testing.T) {
	if rev, err := decodeRevision(hostcall.Op{Call: "op"}, abi.AppendKVEntry(nil, 9, nil)); err != nil || rev != 9 {
		t.Errorf("decodeRevision = %d, %v", rev, err)
	}
	for _, b := range [][]byte{nil, {1, 0, 0}, abi.AppendKVEntry(nil, 9, []byte("x"))} {
		if rev, err := decodeRevision(hostcall.Op{Call: "op"}, b); !only(err, ErrUnavailable) || rev != 0 {
			t.Errorf("decodeRevision(% x) = %d, %v; want a malformed-result error", b, rev, err)
		}
	}
}

func TestDecodeList(t *testing.T) {
	want := []string{"a", "a/b", "a/c"}
	got, err := decodeList(hostcall.Op{Call: "op"}, abi.AppendStrings(nil, want))
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("decodeList = %q, %v", got, err)
	}
	got, err = decodeList(hostcall.Op{Call: "op"}, abi.AppendStrings(nil, nil))
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("decodeList of no keys = %#v, %v; want an empty list", got, err)
	}
	bad := [][]byte{nil, {2, 1, 'a'}, append(abi.AppendStrings(nil, want), 0)}
	for _, b := range bad {
		if got, err := decodeList(hostcall.Op{Call: "op"}, b); !only(err, ErrUnavailable) || got != nil {
			t.Errorf("decodeList(% x) = %q, %v; want a malformed-result error", b, got, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(abi.AppendKVEntry(nil, 1, []byte("v")))
	f.Add(abi.AppendStrings(nil, []string{"a", "b"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if value, rev, err := decodeEntry(hostcall.Op{Call: "op"}, b); err == nil {
			if !bytes.Equal(abi.AppendKVEntry(nil, rev, value), b) {
				t.Fatalf("entry % x does not re-encode", b)
			}
		} else if !only(err, ErrUnavailable) {
			t.Fatalf("decodeEntry error %v", err)
		}
		if rev, err := decodeRevision(hostcall.Op{Call: "op"}, b); err == nil && !bytes.Equal(abi.AppendKVEntry(nil, rev, nil), b) {
			t.Fatalf("revision % x does not re-encode", b)
		}
		if keys, err := decodeList(hostcall.Op{Call: "op"}, b); err == nil {
			if len(keys) > abi.MaxKVList || !bytes.Equal(abi.AppendStrings(nil, keys), b) {
				t.Fatalf("list % x: %d keys that do not re-encode", b, len(keys))
			}
		} else if !only(err, ErrUnavailable) {
			t.Fatalf("decodeList error %v", err)
		}
	})
}
