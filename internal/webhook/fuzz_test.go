package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A parse error is a fixed description of the expected form; it never
// quotes its input. Inputs longer than any description cannot appear in
// one.
func checkParseError(t *testing.T, err error, input string) {
	t.Helper()
	if len(input) > 100 && strings.Contains(err.Error(), input) {
		t.Fatalf("error %q quotes its input", err)
	}
}

func FuzzStripeHeader(f *testing.F) {
	hx := strings.Repeat("ab", 32)
	for _, s := range []string{
		"t=1900000000,v1=" + hx,
		"t=1900000000,v1=" + hx + ",v1=" + strings.ToUpper(hx) + ",v0=" + hx,
		"v1=" + hx + ",t=1",
		"t=1900000000,v0=" + hx,
		"t=1,t=2,v1=" + hx,
		"t=,v1=",
		"t=1900000000,v1=" + hx + ",",
		"t=1900000000,scheme=x,v1=" + hx,
		"t=1900000000" + strings.Repeat(",v1="+hx, 17),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseStripe(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		if len(h.v1) == 0 || len(h.v1)+h.others > MaxSignatures {
			t.Fatalf("%d v1 and %d other signatures accepted", len(h.v1), h.others)
		}
		lower := strings.ToLower(s)
		for _, sig := range h.v1 {
			if len(sig) != 32 || !strings.Contains(lower, "v1="+hex.EncodeToString(sig)) {
				t.Fatalf("signature %x is not in the header", sig)
			}
		}
		if ts, err := strconv.ParseInt(h.tsText, 10, 64); err != nil || ts != h.ts || h.ts < 0 ||
			!strings.Contains(s, "t="+h.tsText) {
			t.Fatalf("timestamp %q parsed as %d", h.tsText, h.ts)
		}
		// The canonical form parses to the same header.
		again, err := parseStripe(formatStripe(h))
		if err != nil || again.ts != h.ts || again.tsText != h.tsText || len(again.v1) != len(h.v1) {
			t.Fatalf("canonical form %q: %+v, %v", formatStripe(h), again, err)
		}
		for i := range h.v1 {
			if !bytes.Equal(again.v1[i], h.v1[i]) {
				t.Fatalf("signature %d changed in the round trip", i)
			}
		}
	})
}

func FuzzStandardSignatureHeader(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, 32))
	for _, s := range []string{
		"v1," + b64,
		"v1," + b64 + " v1," + b64 + " v1a,AAAA",
		"v1a,AAAA",
		"v1," + b64 + "  v1," + b64,
		"v1," + b64[:43] + "B",
		"v1,",
		",",
		"v2," + b64,
		strings.Repeat("v1,"+b64+" ", 17),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sigs, err := parseStandardSignatures(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		if len(sigs) == 0 || len(sigs) > MaxSignatures || strings.Count(s, " ") >= MaxSignatures {
			t.Fatalf("%d signatures in %d entries accepted", len(sigs), strings.Count(s, " ")+1)
		}
		for _, sig := range sigs {
			// Strict base64: the signature has one encoding, and it is
			// the one in the header.
			if len(sig) != 32 || !strings.Contains(s, "v1,"+base64.StdEncoding.EncodeToString(sig)) {
				t.Fatalf("signature %x is not in the header", sig)
			}
		}
		again, err := parseStandardSignatures(formatStandardSignatures(sigs))
		if err != nil || len(again) != len(sigs) {
			t.Fatalf("canonical form: %d signatures, %v", len(again), err)
		}
		for i := range sigs {
			if !bytes.Equal(again[i], sigs[i]) {
				t.Fatalf("signature %d changed in the round trip", i)
			}
		}
	})
}

// FuzzSlackAndGitHubHeaders feeds one value to the parsers of the
// single-signature headers, timestamps and delivery ids.
func FuzzSlackAndGitHubHeaders(f *testing.F) {
	hx := strings.Repeat("0f", 32)
	for _, s := range []string{
		"sha256=" + hx, "v0=" + hx, hx, strings.ToUpper(hx), "sha1=" + hx[:40], "sha256=" + hx[:63],
		"1900000000", "0001", "-1", "+1", strings.Repeat("9", 16), "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"msg.1", "a b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []struct {
			prefix string
			parse  func(string) ([]byte, error)
		}{
			{"sha256=", func(s string) ([]byte, error) { return parsePrefixedHex(s, "sha256=") }},
			{"v0=", func(s string) ([]byte, error) { return parsePrefixedHex(s, "v0=") }},
			{"", parseGenericHex},
		} {
			sig, err := p.parse(s)
			if err != nil {
				checkParseError(t, err, s)
				continue
			}
			canonical := hex.EncodeToString(sig)
			if len(sig) != 32 || (strings.ToLower(s) != p.prefix+canonical && strings.ToLower(s) != "sha256="+canonical) {
				t.Fatalf("%q parsed as %x", s, sig)
			}
			if again, err := p.parse(p.prefix + canonical); err != nil || !bytes.Equal(again, sig) {
				t.Fatalf("canonical form: %x, %v", again, err)
			}
		}

		if ts, err := parseTimestamp(s); err == nil {
			if ts < 0 || strconv.FormatInt(ts, 10) != strings.TrimLeft(s[:len(s)-1], "0")+s[len(s)-1:] {
				t.Fatalf("timestamp %q parsed as %d", s, ts)
			}
		} else {
			checkParseError(t, err, s)
		}

		for _, noDot := range []bool{false, true} {
			err := checkID(s, noDot)
			ok := s != "" && len(s) <= MaxIDLen && printableID.MatchString(s) && !(noDot && strings.Contains(s, "."))
			if (err == nil) != ok {
				t.Fatalf("checkID(%q, %v) = %v", s, noDot, err)
			}
		}
	})
}

var printableID = regexp.MustCompile(`^[!-~]+$`)

// fuzzIDOK is a subset of the valid ids: every scheme must accept a
// genuine delivery carrying one.
var fuzzIDOK = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzVerify signs a delivery as a sender would, lets the fuzzer change
// its body, timestamp, id, key and signature header, and checks that Verify
// accepts exactly the deliveries signed with the secret over that exact
// body within the tolerance, and each of them only once. The secrets are
// random in every process, so the fuzzer can only learn a valid signature
// from this function, which computes it over signed, not body.
func FuzzVerify(f *testing.F) {
	good, wrong := newKey(f), newKey(f)
	for i := range senders {
		for mode := range uint8(16) {
			f.Add(uint8(i), mode, []byte(`{"a":1}`), []byte(`{"a":1}`), int64(0), "d1", "")
		}
		f.Add(uint8(i), uint8(0), []byte(`{"a":1}`), []byte(`{"a":2}`), int64(0), "d1", "")
		f.Add(uint8(i), uint8(0), []byte{}, []byte{}, int64(301), "d1", "")
		f.Add(uint8(i), uint8(0), []byte("x"), []byte("x"), int64(-300), "msg.1", "")
		f.Add(uint8(i), uint8(2), []byte("x"), []byte("x"), int64(0), "d1", "sha256="+strings.Repeat("0", 64))
		f.Add(uint8(i), uint8(8), []byte("x"), []byte("x"), int64(0), "d1", "v1=zz")
	}
	f.Fuzz(func(t *testing.T, sel, mode uint8, body, signed []byte, tsOff int64, id, raw string) {
		s := senders[int(sel)%len(senders)]
		v := s.verifier(t, NewReplayCache(time.Hour, 8), good)
		tol := int64(s.tolerance() / time.Second)
		tsOff %= 2*tol + 10 // mostly near the window
		ts := testNow.Unix() + tsOff

		key := good
		if mode&1 != 0 {
			key = wrong
		}
		h := s.sign(key, string(signed), ts, id)
		genuineSig := mac(good, s.signed(string(signed), ts, id))
		switch {
		case mode&2 != 0: // a signature header of the fuzzer's own
			h.Set(s.sigHeader, raw)
		case mode&4 != 0 && s.tsHeader != "": // a timestamp of the fuzzer's own
			h.Set(s.tsHeader, raw)
		case mode&8 != 0: // the genuine header, with something appended
			h.Set(s.sigHeader, h.Get(s.sigHeader)+raw)
		}

		got, err := v.Verify(h, body, testNow)
		honest := mode&3 == 0 && bytes.Equal(body, signed)
		if err == nil {
			switch {
			case !honest:
				t.Fatalf("accepted a delivery not signed over its body with the secret (mode %d)", mode)
			case s.timed && (tsOff < -tol || tsOff > tol) && mode&4 == 0:
				t.Fatalf("accepted a timestamp %ds from now, tolerance %ds", tsOff, tol)
			case mode&6 == 4 && s.tsHeader != "" && raw != unix(ts):
				t.Fatalf("accepted timestamp %q, signed %d", raw, ts)
			case s.senderID && got != id:
				t.Fatalf("delivery id %q, want %q", got, id)
			}
			if _, err := v.Verify(h, body, testNow); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay: %v, want ErrReplay", err)
			}
		} else {
			msg := err.Error()
			for _, leak := range []string{string(good), string(wrong), hex.EncodeToString(genuineSig), base64.StdEncoding.EncodeToString(genuineSig)} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error %q leaks a secret or signature", msg)
				}
			}
			if len(body) > 100 && strings.Contains(msg, string(body)) {
				t.Fatalf("error %q quotes the body", msg)
			}
		}
		// Completeness: an honest delivery in the window, untouched, with
		// a plain id, is accepted.
		if honest && mode&14 == 0 && (!s.timed || (tsOff >= -tol && tsOff <= tol)) &&
			(s.idHeader == "" || fuzzIDOK.MatchString(id)) && err != nil {
			t.Fatalf("genuine delivery refused: %v", err)
		}
	})
}

// formatStripe writes h in canonical form, v1 elements only.
func formatStripe(h stripeHeader) string {
	var b strings.Builder
	b.WriteString("t=" + h.tsText)
	for _, s := range h.v1 {
		b.WriteString(",v1=" + hex.EncodeToString(s))
	}
	return b.String()
}

// formatStandardSignatures writes sigs as a webhook-signature header.
func formatStandardSignatures(sigs [][]byte) string {
	parts := make([]string, len(sigs))
	for i, s := range sigs {
		parts[i] = "v1," + base64.StdEncoding.EncodeToString(s)
	}
	return strings.Join(parts, " ")
}
