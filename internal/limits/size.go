package limits

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidSize is wrapped by every error ParseSize returns.
var ErrInvalidSize = errors.New("invalid size")

// ErrSizeOverflow is wrapped, beside ErrInvalidSize, when a size is well
// formed but does not fit in an int64. ParseSize then returns
// math.MaxInt64, so that a caller with bounds can report its own maximum.
var ErrSizeOverflow = errors.New("too large")

// SizeSyntax describes the sizes ParseSize accepts, for messages.
const SizeSyntax = `a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`

// sizeUnits are the suffixes a size may carry, largest first: ParseSize
// must try "KiB" before "B", and FormatSize wants the largest unit.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// maxQuotedSize bounds how much of a refused size an error quotes.
const maxQuotedSize = 32

// ParseSize parses a whole number of bytes with an optional binary unit:
// "1048576", "512B", "64KiB", "64MiB", "4GiB". It is the one grammar of
// sizes: manifests, the daemon's flags and the command line's all use it.
// 1000-based units such as "MB" are refused rather than read as "MiB": the
// difference is large enough to matter and easy to get wrong. So are
// signs, spaces, fractions and units above GiB.
//
// Unlike the other errors of this package, ParseSize's quote the size (at
// most 32 characters of it): sizes come from operators' manifests, flags
// and commands, never from requests.
func ParseSize(s string) (int64, error) {
	digits, scale := s, int64(1)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			digits, scale = d, u.bytes
			break
		}
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%w %s: use %s", ErrInvalidSize, quoteSize(s), SizeSyntax)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/scale {
		// Only digits, so the error is overflow.
		return math.MaxInt64, fmt.Errorf("%w %s: %w for a number of bytes", ErrInvalidSize, quoteSize(s), ErrSizeOverflow)
	}
	return n * scale, nil
}

// FormatSize formats n in the largest binary unit that divides it exactly,
// in the form ParseSize reads: FormatSize(3<<19) is "1536KiB".
func FormatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// quoteSize quotes s, cut to maxQuotedSize characters.
func quoteSize(s string) string {
	if utf8.RuneCountInString(s) <= maxQuotedSize {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:maxQuotedSize])) + "…"
}
