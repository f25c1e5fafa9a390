package limits

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rateSyntax is the accepted syntax, written independently of ParseRate.
var rateSyntax = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)/([smh])$`)

// FuzzParseRate checks ParseRate against an independent description of
// the syntax: whatever it accepts is well-formed, positive, finite and
// within MaxPerSecond, and equals the count divided by the unit; whatever
// it refuses wraps ErrInvalidRate with a message that does not depend on the input.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"100/s", "6000/m", "10/h", "0.5/s", "0/s", "-1/s", "1e3/s", "Inf/s", "NaN/s",
		"1/d", "", "/", "1/", "/s", "1.5.5/m", "99999999999999999999/s", "0.0000000000000000001/h", "1\x00/s"} {
		f.Add(s)
	}
	// Every error message ParseRate can produce, from one input of each
	// kind: a fuzzed input's error must be one of them, so no part of an
	// error depends on the text parsed.
	messages := map[string]bool{}
	for _, s := range []string{strings.Repeat("1", maxRateLen+1), "1", "1/d", "x/s", "0/s", "1000001/s"} {
		_, err := ParseRate(s)
		messages[err.Error()] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s)
		m := rateSyntax.FindStringSubmatch(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRate) {
				t.Fatalf("ParseRate(%q): %v does not wrap ErrInvalidRate", s, err)
			}
			if !messages[err.Error()] {
				t.Fatalf("ParseRate(%q): unexpected error text %q", s, err)
			}
			if m != nil && len(s) <= maxRateLen {
				count, _ := strconv.ParseFloat(m[1], 64)
				if count > 0 && count/unitSeconds(m[2]) <= MaxPerSecond && count/unitSeconds(m[2]) > 0 {
					t.Fatalf("ParseRate(%q) refused a valid rate: %v", s, err)
				}
			}
			return
		}
		if m == nil {
			t.Fatalf("ParseRate(%q) = %v accepted a malformed rate", s, v)
		}
		if !(v > 0) || math.IsInf(v, 0) || v > MaxPerSecond {
			t.Fatalf("ParseRate(%q) = %v, out of range", s, v)
		}
		count, _ := strconv.ParseFloat(m[1], 64)
		if want := count / unitSeconds(m[2]); v != want {
			t.Fatalf("ParseRate(%q) = %v, want %v", s, v, want)
		}
	})
}

// sizeSyntax is the accepted syntax of sizes, written independently of
// ParseSize.
var sizeSyntax = regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB)?$`)

// FuzzParseSize checks ParseSize against an independent description of
// the syntax: whatever it accepts is well-formed and equals the count
// times the unit, exactly (checked in big integers), and reads back the
// same through FormatSize; a well-formed size too large for an int64 is
// math.MaxInt64 with ErrSizeOverflow; whatever else it refuses wraps
// ErrInvalidSize and names the accepted form.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "512B", "64KiB", "1GiB", "8589934592GiB", "1GB", "10MB", "1TiB", "-1", " 1 MiB", "9223372036854775808", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		m := sizeSyntax.FindStringSubmatch(s)
		var want *big.Int
		if m != nil {
			want, _ = new(big.Int).SetString(m[1], 10)
			want.Mul(want, big.NewInt(map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]))
		}
		switch {
		case m == nil:
			if err == nil || !errors.Is(err, ErrInvalidSize) || errors.Is(err, ErrSizeOverflow) || !strings.HasSuffix(err.Error(), ": use "+SizeSyntax) {
				t.Fatalf("ParseSize(%q) = %d, %v; want ErrInvalidSize naming the accepted form", s, n, err)
			}
		case !want.IsInt64():
			if n != math.MaxInt64 || !errors.Is(err, ErrSizeOverflow) || !errors.Is(err, ErrInvalidSize) {
				t.Fatalf("ParseSize(%q) = %d, %v; want math.MaxInt64 and ErrSizeOverflow", s, n, err)
			}
		default:
			if err != nil || n != want.Int64() {
				t.Fatalf("ParseSize(%q) = %d, %v; want %v", s, n, err, want)
			}
			if again, err := ParseSize(FormatSize(n)); err != nil || again != n {
				t.Fatalf("ParseSize(FormatSize(%d)) = %d, %v", n, again, err)
			}
		}
	})
}

func unitSeconds(u string) float64 {
	switch u {
	case "m":
		return 60
	case "h":
		return 3600
	}
	return 1
}

// FuzzCallDepth checks that CallDepth accepts exactly the plain decimal
// depths from 0 to 1000, returns incoming+1 within the limit, and that its
// error text never depends on the header.
func FuzzCallDepth(f *testing.F) {
	for _, s := range []string{"", "0", "7", "8", "1000", "1001", "-1", "+1", " 1", "1 ", "0x8", "1e2", "99999999999999999999", "٣"} {
		f.Add(s, 8)
	}
	f.Add("3", 0)
	f.Add("3", -5)
	f.Add("500", 2000)
	f.Fuzz(func(t *testing.T, header string, max int) {
		depth, err := CallDepth(header, max)
		limit := max
		if limit <= 0 {
			limit = DefaultMaxCallDepth
		}
		incoming, plain := 0, header == ""
		if !plain && len(header) <= 4 && allDigitsRef(header) {
			incoming, _ = strconv.Atoi(header)
			plain = incoming <= 1000
		}
		switch {
		case !plain:
			if !errors.Is(err, ErrInvalidCallDepth) || depth != 0 {
				t.Fatalf("CallDepth(%q, %d) = %d, %v; want ErrInvalidCallDepth", header, max, depth, err)
			}
		case incoming+1 > limit:
			if !errors.Is(err, ErrCallDepth) || depth != 0 {
				t.Fatalf("CallDepth(%q, %d) = %d, %v; want ErrCallDepth", header, max, depth, err)
			}
		default:
			if err != nil || depth != incoming+1 || depth < 1 || depth > limit {
				t.Fatalf("CallDepth(%q, %d) = %d, %v; want %d", header, max, depth, err, incoming+1)
			}
		}
		// The error text depends on the limit only, never on the header.
		if err != nil && err != ErrInvalidCallDepth && err.Error() != fmt.Sprintf("%v: at most %d nested calls", ErrCallDepth, limit) {
			t.Fatalf("CallDepth(%q, %d): unexpected error text %q", header, max, err)
		}
	})
}

func allDigitsRef(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
