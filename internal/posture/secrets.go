package posture

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"github.com/pave-dev/pave/internal/wasmbin"
)

// This file looks for credentials compiled into a module: strings in its
// data segments in the formats of well-known tokens, and high-entropy
// values assigned to a secret-sounding name in embedded text such as
// "password=..." or "api_key: ...".
//
// Data segments hold a Go module's string literals packed end to end with
// no separators, so a token may be followed or preceded by any bytes; the
// formats are matched on their prefix and length, not on word boundaries.

// Kinds of hard-coded credential ScanSecrets finds.
const (
	LeakAWSAccessKey = "AWS access key id"
	LeakPEMKey       = "PEM private key"
	LeakPaveAPIKey   = "pave API key"
	LeakPaveAdmin    = "pave admin token"
	LeakPaveConsole  = "pave console password"
	LeakGitHubToken  = "GitHub token"
	LeakSlackToken   = "Slack token"
	LeakAssigned     = "high-entropy value assigned to a secret name"
)

// A Leak is a string in a module's data that looks like a credential. It
// never holds the credential: only its kind, where it is, and a preview
// of at most its first four characters.
type Leak struct {
	Kind string
	// Name is the name the value is assigned to, for LeakAssigned.
	Name string
	// Offset is the byte offset of the value in the module file; Segment
	// is the index of the data segment that holds it.
	Offset  int
	Segment int
	// Preview is at most the first four characters of the value,
	// followed by "…".
	Preview string
}

// String describes l in one line, without the value.
func (l Leak) String() string {
	what := l.Kind
	if l.Name != "" {
		what += fmt.Sprintf(" %q", l.Name)
	}
	return fmt.Sprintf("%s at module offset %d (data segment %d): %s", what, l.Offset, l.Segment, l.Preview)
}

// maxLeaks bounds the leaks reported for one module.
const maxLeaks = 20

// ScanSecrets returns what looks like hard-coded credentials in the data
// segments of a WebAssembly module, at most 20, in the order of their
// offsets. It returns an error wrapping ErrMalformed for a module that is
// not a well-formed binary.
func ScanSecrets(module []byte) ([]Leak, error) {
	m, err := parseModule(module)
	if err != nil {
		return nil, err
	}
	return m.scanSecrets(), nil
}

func (m *wasmModule) scanSecrets() []Leak {
	var leaks []Leak
	for _, s := range m.segments {
		leaks = scanSegment(leaks, s)
		if len(leaks) >= maxLeaks {
			return leaks[:maxLeaks]
		}
	}
	return leaks
}

// A tokenFormat is a credential recognised by a literal prefix followed
// by a body of a fixed or minimum length.
type tokenFormat struct {
	kind     string
	prefixes []string
	body     func(c byte) bool
	min, max int // length of the body; the longest run up to max is taken
	check    func(body []byte) bool
}

func isUpperAlnum(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
func isAlnum(c byte) bool      { return isUpperAlnum(c) || 'a' <= c && c <= 'z' }
func isBase32Lower(c byte) bool {
	return 'a' <= c && c <= 'z' || '2' <= c && c <= '7'
}

var tokenFormats = []tokenFormat{
	{kind: LeakAWSAccessKey, prefixes: []string{"AKIA", "ASIA"}, body: isUpperAlnum, min: 16, max: 16},
	// identity.KeyPrefix, AdminPrefix and UserPrefix, then 256 bits in
	// lower-case unpadded base32.
	{kind: LeakPaveAPIKey, prefixes: []string{"pave_k_"}, body: isBase32Lower, min: 52, max: 52},
	{kind: LeakPaveAdmin, prefixes: []string{"pave_a_"}, body: isBase32Lower, min: 52, max: 52},
	{kind: LeakPaveConsole, prefixes: []string{"pave_u_"}, body: isBase32Lower, min: 52, max: 52},
	{kind: LeakGitHubToken, prefixes: []string{"ghp_", "gho_", "ghs_", "ghu_", "ghr_"}, body: isAlnum, min: 36, max: 36},
	{kind: LeakGitHubToken, prefixes: []string{"github_pat_"}, body: func(c byte) bool { return isAlnum(c) || c == '_' }, min: 82, max: 82},
	{kind: LeakSlackToken, prefixes: []string{"xoxa-", "xoxb-", "xoxp-", "xoxr-"},
		body: func(c byte) bool { return isAlnum(c) || c == '-' }, min: 10, max: 255,
		check: func(b []byte) bool { return bytes.ContainsAny(b, "0123456789") }},
}

// An addFunc records a leak of kind found at offset at of a segment's
// data; name is the name a LeakAssigned value is assigned to.
type addFunc func(kind, name string, at int, value []byte)

// scanSegment appends the leaks in s to leaks, in offset order.
func scanSegment(leaks []Leak, s wasmbin.DataSegment) []Leak {
	data := s.Data
	add := func(kind, name string, at int, value []byte) {
		leaks = append(leaks, Leak{Kind: kind, Name: name, Offset: s.Offset + at, Segment: s.Index, Preview: preview(value)})
	}
	start := len(leaks)
	for _, f := range tokenFormats {
		for _, p := range f.prefixes {
			for i, found := 0, 0; found < maxLeaks; {
				j := bytes.Index(data[i:], []byte(p))
				if j < 0 {
					break
				}
				at := i + j
				i = at + 1
				body := data[at+len(p):]
				n := 0
				for n < len(body) && n < f.max && f.body(body[n]) {
					n++
				}
				if n < f.min || f.check != nil && !f.check(body[:n]) {
					continue
				}
				add(f.kind, "", at, data[at:at+len(p)+n])
				found++
				i = at + len(p) + n
			}
		}
	}
	scanPEM(s.Data, add)
	scanAssignments(s.Data, add)
	sortLeaks(leaks[start:])
	return leaks
}

// scanPEM finds "-----BEGIN <words> PRIVATE KEY-----" followed by a line
// break: the start of a PEM block, not a message that names one.
func scanPEM(data []byte, add addFunc) {
	const begin, end = "-----BEGIN ", "PRIVATE KEY-----"
	for i, found := 0, 0; found < maxLeaks; {
		j := bytes.Index(data[i:], []byte(begin))
		if j < 0 {
			break
		}
		at := i + j
		i = at + 1
		rest := data[at+len(begin):]
		n := 0 // the words before PRIVATE KEY, such as "RSA " or "ENCRYPTED "
		for n < len(rest) && n < 40 && (isUpperAlnum(rest[n]) || rest[n] == ' ') && !bytes.HasPrefix(rest[n:], []byte(end)) {
			n++
		}
		if !bytes.HasPrefix(rest[n:], []byte(end)) {
			continue
		}
		after := rest[n+len(end):]
		if !bytes.HasPrefix(after, []byte("\n")) && !bytes.HasPrefix(after, []byte("\r\n")) {
			continue
		}
		add(LeakPEMKey, "", at, data[at:at+len(begin)+n+len(end)])
		found++
		i = at + len(begin) + n + len(end)
	}
}

// secretNames are the names whose assigned values are checked, lower
// case. Longer names come before the names they contain, so that
// "client_secret" is reported as such and not as "secret".
var secretNames = []string{
	"client_secret", "secret_key", "private_key", "access_key", "access_token",
	"auth_token", "api_key", "apikey", "api-key", "passphrase", "password", "passwd", "pwd", "secret", "token",
}

// scanAssignments finds a secret name, an optional closing quote,
// optional spaces, ':' or '=', optional spaces and an optional quote,
// followed by a value that is random enough to be a credential rather
// than a word, a path or a placeholder: 16 to 128 token characters (the
// alphabets of base64, hex and JWTs) mixing letters and digits, or 8 to
// 128 printable characters without spaces (up to the closing quote, or to
// a separator when unquoted) in the shape of a generated password (see
// looksLikePassword).
func scanAssignments(data []byte, add addFunc) {
	lower := asciiLower(data)
	taken := map[int]bool{} // value offsets already reported
	for _, name := range secretNames {
		for i, found := 0, 0; found < maxLeaks; {
			j := bytes.Index(lower[i:], []byte(name))
			if j < 0 {
				break
			}
			at := i + j
			i = at + 1
			k := valueAfter(data, at+len(name))
			if k < 0 || taken[k] {
				continue
			}
			value, ok := tokenValue(data, k)
			if !ok {
				value, ok = passwordValue(data, k)
			}
			if !ok {
				continue
			}
			taken[k] = true
			found++
			add(LeakAssigned, string(data[at:at+len(name)]), k, value)
		}
	}
}

// valueAfter returns the offset of the value assigned after a name that
// ends at k: past an optional closing quote, spaces, ':' or '=', spaces
// and an opening quote; -1 if no assignment follows.
func valueAfter(data []byte, k int) int {
	if k < len(data) && (data[k] == '"' || data[k] == '\'') {
		k++
	}
	for k < len(data) && data[k] == ' ' {
		k++
	}
	if k >= len(data) || data[k] != '=' && data[k] != ':' {
		return -1
	}
	k++
	for k < len(data) && data[k] == ' ' {
		k++
	}
	if k < len(data) && (data[k] == '"' || data[k] == '\'') {
		k++
	}
	return k
}

// tokenValue reads a value of token characters at k: 16 to 128 of them,
// ending where token characters end, that looksRandom.
func tokenValue(data []byte, k int) ([]byte, bool) {
	n := 0
	for k+n < len(data) && n <= 128 && isValueChar(data[k+n]) {
		n++
	}
	// '=' only as base64 padding: "KEY=value" after the name is another
	// assignment, not a value.
	for p := 0; p < 2 && k+n < len(data) && data[k+n] == '='; p++ {
		n++
	}
	if k+n < len(data) && (isValueChar(data[k+n]) || data[k+n] == '=') {
		return nil, false
	}
	value := data[k : k+n]
	return value, n >= 16 && n <= 128 && looksRandom(value)
}

// passwordValue reads a value of printable characters without spaces at
// k, up to a closing quote if one opened it, else up to a space, a quote,
// ';', '&', ',' or '=' (the start of another assignment), and reports
// whether it looksLikePassword.
func passwordValue(data []byte, k int) ([]byte, bool) {
	var quote byte
	if k > 0 && (data[k-1] == '"' || data[k-1] == '\'') {
		quote = data[k-1]
	}
	n := 0
	for k+n < len(data) && n <= 128 {
		c := data[k+n]
		if c <= ' ' || c > '~' || c == '"' || c == '\'' || quote == 0 && (c == ';' || c == '&' || c == ',' || c == '=') {
			break
		}
		n++
	}
	if quote != 0 && (k+n >= len(data) || data[k+n] != quote) {
		return nil, false
	}
	value := data[k : k+n]
	return value, looksLikePassword(value)
}

// looksLikePassword reports whether v has the shape of a generated
// password: 8 to 128 characters with punctuation and at least two of
// lower case, upper case and digits, at least 2.5 bits of entropy per
// character, and none of the marks of a placeholder or a format ('%',
// '$', '{', '<', '*', or a character four times in a row). Values of
// letters and digits only are judged by looksRandom instead.
func looksLikePassword(v []byte) bool {
	if len(v) < 8 || len(v) > 128 || isPlaceholder(v) {
		return false
	}
	var lower, upper, digit, punct bool
	var counts [256]int
	run := 0
	for i, c := range v {
		counts[c]++
		if i > 0 && c == v[i-1] {
			if run++; run >= 3 {
				return false
			}
		} else {
			run = 0
		}
		switch {
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case '0' <= c && c <= '9':
			digit = true
		default:
			punct = true
		}
	}
	classes := 0
	for _, has := range []bool{lower, upper, digit, punct} {
		if has {
			classes++
		}
	}
	return punct && classes >= 3 && entropy(counts[:], len(v)) >= 2.5
}

// isPlaceholder reports whether v holds the marks of a template or a
// format rather than a value: ${, $(, {{, <...>, a mask of asterisks, or a
// format verb such as %s.
func isPlaceholder(v []byte) bool {
	for _, mark := range []string{"${", "$(", "{{", "**"} {
		if bytes.Contains(v, []byte(mark)) {
			return true
		}
	}
	if bytes.IndexByte(v, '<') >= 0 && bytes.IndexByte(v, '>') > bytes.IndexByte(v, '<') {
		return true
	}
	for i := 0; i+1 < len(v); i++ {
		if v[i] == '%' && ('a' <= v[i+1] && v[i+1] <= 'z' || 'A' <= v[i+1] && v[i+1] <= 'Z') {
			return true
		}
	}
	return false
}

// isValueChar reports whether c may be part of an assigned credential:
// the alphabets of base64, base64url, hex and JWTs, without the padding.
func isValueChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '_' || c == '-' || c == '.'
}

// looksRandom reports whether v mixes letters and digits with a Shannon
// entropy of at least 3.5 bits per character: true of keys and tokens,
// rarely of identifiers, words or paths.
func looksRandom(v []byte) bool {
	var letters, digits bool
	var counts [256]int
	for _, c := range v {
		counts[c]++
		switch {
		case '0' <= c && c <= '9':
			digits = true
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letters = true
		}
	}
	if !letters || !digits {
		return false
	}
	return entropy(counts[:], len(v)) >= 3.5
}

// entropy returns the Shannon entropy in bits per symbol of a string of
// length n with the given symbol counts.
func entropy(counts []int, n int) float64 {
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// preview returns at most the first four characters of v, then "…". A
// byte that is not printable ASCII is shown as '?'.
func preview(v []byte) string {
	b := make([]byte, 0, 4)
	for _, c := range v[:min(4, len(v))] {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b) + "…"
}

// sortLeaks sorts l by offset.
func sortLeaks(l []Leak) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Offset < l[j].Offset })
}

// asciiLower returns a copy of b with ASCII letters in lower case and every
// other byte unchanged, so that offsets into it are offsets into b.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
