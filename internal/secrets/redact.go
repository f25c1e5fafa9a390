package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pave-dev/pave/internal/secret"
)

// MinRedactLen is the shortest value a Redactor redacts. A secret of one to
// three bytes ("on", "42", "yes") also occurs in ordinary text so often
// that replacing it would garble every log line and response while
// protecting almost nothing: such a value is guessable anyway. NewRedactor
// skips them, and TooShort reports them so that a posture check can flag
// those secrets.
const MinRedactLen = 4

// Redactor replaces secret values in function output: log lines, error
// messages and response bodies.
//
// Besides each value as it is, it finds the forms a guest is likely to have
// produced by encoding the value on its own: standard and URL base64, each
// with and without padding; lower- and upper-case hex; and, for values that
// are valid UTF-8, the value escaped inside a JSON string (with and without
// Go's HTML escaping). It cannot find a value inside an encoding of a larger
// text, nor split, reversed, compressed or encrypted: redaction keeps
// secrets out of output by accident, and cannot stop a function that means
// to leak a secret it was granted.
//
// Every byte covered by an occurrence of any form of any value is
// redacted. Occurrences that overlap, of one value or of several, become a
// single secret.Redacted marker, so no part of either survives.
//
// Matching looks at each byte of the input once through a filter on its
// next four bytes, and compares candidate forms only where the filter hits.
// Its cost is linear in the input for values without long internal
// repetition; a value that repeats one short run many times (such as 64 KiB
// of one byte) can cost up to input length times value length on an input
// made of that run.
//
// A Redactor is safe for concurrent use. The nil *Redactor redacts nothing.
type Redactor struct {
	forms []string
	// byPrefix lists the indexes of forms by their first four bytes (as a
	// little-endian uint32), longest first.
	byPrefix map[uint32][]int32
	// filter has bit h(prefix) set for every prefix in byPrefix, so most
	// positions of the input need no map lookup.
	filter   [filterBits / 64]uint64
	tooShort []int
}

const filterBits = 1 << 16

func filterHash(k uint32) uint32 { return (k * 0x9E3779B1) >> 16 }

// NewRedactor returns a Redactor for values. Values shorter than
// MinRedactLen are not redacted; see TooShort.
func NewRedactor(values []secret.Value) *Redactor {
	r := &Redactor{byPrefix: make(map[uint32][]int32)}
	seen := make(map[string]bool)
	for i, v := range values {
		if len(v) < MinRedactLen {
			r.tooShort = append(r.tooShort, i)
			continue
		}
		for _, f := range forms(v.Reveal()) {
			if !seen[f] {
				seen[f] = true
				r.forms = append(r.forms, f)
			}
		}
	}
	for i, f := range r.forms {
		k := prefix(f)
		r.byPrefix[k] = append(r.byPrefix[k], int32(i))
		h := filterHash(k)
		r.filter[h/64] |= 1 << (h % 64)
	}
	for _, list := range r.byPrefix {
		slices.SortStableFunc(list, func(a, b int32) int { return len(r.forms[b]) - len(r.forms[a]) })
	}
	return r
}

// forms returns v and the encodings of it that a Redactor also finds. Every
// one is at least as long as v.
func forms(v string) []string {
	b := []byte(v)
	out := []string{
		v,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
	}
	// encoding/json replaces invalid UTF-8, so no JSON string holds the
	// value itself unless it is valid UTF-8.
	if utf8.ValidString(v) {
		for _, html := range []bool{true, false} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if enc.Encode(v) == nil {
				q := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
				out = append(out, string(q[1:len(q)-1]))
			}
		}
	}
	return out
}

func prefix(f string) uint32 {
	return uint32(f[0]) | uint32(f[1])<<8 | uint32(f[2])<<16 | uint32(f[3])<<24
}

// Empty reports whether the Redactor redacts nothing, because it was given
// no value of at least MinRedactLen bytes.
func (r *Redactor) Empty() bool { return r == nil || len(r.forms) == 0 }

// TooShort returns the indexes, in the values given to NewRedactor, of the
// values it does not redact because they are shorter than MinRedactLen.
func (r *Redactor) TooShort() []int {
	if r == nil {
		return nil
	}
	return slices.Clone(r.tooShort)
}

// String returns s with every secret replaced by secret.Redacted; s itself when
// there is none.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	found := findSpans(r, s)
	if found == nil {
		return s
	}
	var sb strings.Builder
	sb.Grow(redactedLen(len(s), found))
	prev := 0
	for _, sp := range found {
		sb.WriteString(s[prev:sp.start])
		sb.WriteString(secret.Redacted)
		prev = sp.end
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

// Bytes returns b with every secret replaced by secret.Redacted, in a new slice.
// When b holds no secret it returns b itself, without allocating.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return b
	}
	found := findSpans(r, b)
	if found == nil {
		return b
	}
	out := make([]byte, 0, redactedLen(len(b), found))
	prev := 0
	for _, sp := range found {
		out = append(out, b[prev:sp.start]...)
		out = append(out, secret.Redacted...)
		prev = sp.end
	}
	return append(out, b[prev:]...)
}

// span is a range of the input to redact.
type span struct{ start, end int }

func redactedLen(n int, found []span) int {
	for _, sp := range found {
		n += len(secret.Redacted) - (sp.end - sp.start)
	}
	return n
}

// findSpans returns the ranges of s covered by occurrences of r's forms, in
// order, overlapping occurrences merged; nil if there is none.
func findSpans[T ~string | ~[]byte](r *Redactor, s T) []span {
	var found []span
	if len(s) < MinRedactLen {
		return nil
	}
	// k holds the four bytes ending at j, first byte lowest.
	k := uint32(s[0])<<8 | uint32(s[1])<<16 | uint32(s[2])<<24
	for j := 3; j < len(s); j++ {
		k = k>>8 | uint32(s[j])<<24
		if h := filterHash(k); r.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		i := j - 3
		end := -1
		for _, fi := range r.byPrefix[k] {
			f := r.forms[fi]
			if len(f) <= len(s)-i && string(s[i:i+len(f)]) == f {
				end = i + len(f)
				break // the longest form starting here
			}
		}
		if end < 0 {
			continue
		}
		if n := len(found); n > 0 && i < found[n-1].end {
			found[n-1].end = max(found[n-1].end, end)
		} else {
			found = append(found, span{i, end})
		}
	}
	return found
}
