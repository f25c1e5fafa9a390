package keyfile_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/keyfile"
)

func TestDecodeKey(t *testing.T) {
	line, err := keyfile.NewKey(32)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(line))
	if err != nil || len(raw) != 32 {
		t.Fatalf("NewKey(32) = %d bytes, %v", len(raw), err)
	}
	for name, s := range map[string]string{
		"standard":          base64.StdEncoding.EncodeToString(raw),
		"standard, no pads": base64.RawStdEncoding.EncodeToString(raw),
		"URL":               base64.URLEncoding.EncodeToString(raw),
		"URL, no pads":      base64.RawURLEncoding.EncodeToString(raw),
		"white space":       " \t" + string(line) + "\n",
	} {
		if got, err := keyfile.DecodeKey(s, 32); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: DecodeKey = %x, %v; want %x", name, got, err, raw)
		}
	}

	for _, tt := range []struct{ name, s, want string }{
		{"empty", " \n", "empty"},
		{"not base64", "not a key!", "not base64"},
		{"short", base64.StdEncoding.EncodeToString(raw[:31]), "must be 32 bytes, not 31"},
		{"long", base64.StdEncoding.EncodeToString(append(raw, 1)), "must be 32 bytes, not 33"},
		{"zero", base64.StdEncoding.EncodeToString(make([]byte, 32)), "all zero"},
	} {
		got, err := keyfile.DecodeKey(tt.s, 32)
		if err == nil || !strings.Contains(err.Error(), tt.want) || got != nil {
			t.Errorf("%s: DecodeKey = %x, %v; want an error saying %q", tt.name, got, err, tt.want)
		}
		if err != nil && strings.TrimSpace(tt.s) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.s)) {
			t.Errorf("%s: the error %q quotes the key", tt.name, err)
		}
	}
}
