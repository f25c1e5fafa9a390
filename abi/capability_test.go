package abi

import (
	"errors"
	"slices"
	"testing"
)

func TestKVEntryRoundTrip(t *testing.T) {
	b := AppendKVEntry(nil, 1<<40+7, []byte("value"))
	rev, v, err := DecodeKVEntry(b)
	if err != nil || rev != 1<<40+7 || string(v) != "value" {
		t.Errorf("DecodeKVEntry = %d, %q, %v", rev, v, err)
	}
	if _, _, err := DecodeKVEntry(b[:7]); !errors.Is(err, ErrTruncated) {
		t.Errorf("7 bytes: %v", err)
	}
}

func TestStringsRoundTrip(t *testing.T) {
	for _, list := range [][]string{{}, {"a"}, {"orders/1", "orders/2", "x=y"}} {
		got, err := DecodeStrings(AppendStrings(nil, list))
		if err != nil || !slices.Equal(got, list) {
			t.Errorf("round trip of %q = %q, %v", list, got, err)
		}
	}
	for _, bad := range [][]byte{{}, {2, 1, 'a'}, {1, 1, 'a', 'b'}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := DecodeStrings(bad); err == nil {
			t.Errorf("DecodeStrings(%x) accepted", bad)
		}
	}
}

func TestValidKVKey(t *testing.T) {
	for k, want := range map[string]bool{
		"a": true, "orders/2026/1": true, "a=b_c-d.e": true,
		"": false, ".a": false, "a.": false, "a b": false, "a*": false, "a>": false, "ü": false,
		string(make([]byte, MaxKVKey+1)): false,
	} {
		if got := ValidKVKey(k); got != want {
			t.Errorf("ValidKVKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func FuzzDecodeStrings(f *testing.F) {
	f.Add(AppendStrings(nil, []string{"a", "bc"}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := DecodeStrings(b)
		if err != nil {
			return
		}
		if again := AppendStrings(nil, list); string(again) != string(b) {
			t.Fatalf("accepted %x re-encodes to %x", b, again)
		}
	})
}

func TestOutboundRoundTrip(t *testing.T) {
	o := &Outbound{Method: "POST", URL: "https://api.example.com/v1?x=1", Headers: []Header{{"Content-Type", "application/json"}}, Body: []byte(`{}`)}
	got, err := DecodeOutbound(AppendOutbound(nil, o))
	if err != nil || got.Method != o.Method || got.URL != o.URL || len(got.Headers) != 1 || string(got.Body) != "{}" {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	bad := AppendOutbound(nil, &Outbound{Method: "GET", URL: "u", Headers: []Header{{"X", "a\r\nInjected: 1"}}})
	if _, err := DecodeOutbound(bad); !errors.Is(err, ErrHeaderValue) {
		t.Errorf("CRLF in a header: %v", err)
	}
}

func FuzzDecodeOutbound(f *testing.F) {
	f.Add(AppendOutbound(nil, &Outbound{Method: "GET", URL: "https://a.example/"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOutbound(b)
		if err != nil {
			return
		}
		if again := AppendOutbound(nil, o); string(again) != string(b) {
			t.Fatalf("accepted %x re-encodes to %x", b, again)
		}
	})
}
