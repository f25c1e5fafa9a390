package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pave-dev/pave/internal/secret"
)

func secretsOf(vs ...string) []secret.Value {
	out := make([]secret.Value, len(vs))
	for i, v := range vs {
		out[i] = secret.Value(v)
	}
	return out
}

func TestRedactor(t *testing.T) {
	binary := "\xfb\xff\xbf\xfe\x00\x10" // base64 with '+', '/' (std) or '-', '_' (URL)
	quoted := "pa\"ss\\wo<rd>\n\u2028"
	for _, tt := range []struct {
		name   string
		values []string
		in     string
		want   string
	}{
		{"middle", []string{"password123"}, "login password123 ok", "login [REDACTED] ok"},
		{"start and end", []string{"token"}, "token and token", "[REDACTED] and [REDACTED]"},
		{"whole input", []string{"token"}, "token", "[REDACTED]"},
		{"repeated", []string{"token"}, "tokentoken", "[REDACTED][REDACTED]"},
		{"several values", []string{"alpha-1", "beta-22"}, "a=alpha-1 b=beta-22", "a=[REDACTED] b=[REDACTED]"},
		{"overlapping values", []string{"abcdef12", "ef12ghij"}, "xxabcdef12ghijxx", "xx[REDACTED]xx"},
		{"overlapping values, other order", []string{"ef12ghij", "abcdef12"}, "xxabcdef12ghijxx", "xx[REDACTED]xx"},
		{"value inside another", []string{"value", "secretvalue"}, "a secretvalue b value", "a [REDACTED] b [REDACTED]"},
		{"overlapping occurrences", []string{"abab"}, "xababab", "x[REDACTED]"},
		{"chain of overlaps", []string{"aaab", "abcc", "ccdd"}, "aaabccdd!", "[REDACTED]!"},
		{"prefix only", []string{"password123"}, "password12", "password12"},
		{"case differs", []string{"password123"}, "PASSWORD123", "PASSWORD123"},
		{"base64", []string{"s3cret!"}, "x " + base64.StdEncoding.EncodeToString([]byte("s3cret!")) + " y", "x [REDACTED] y"},
		{"base64 unpadded", []string{"s3cret!"}, "x" + base64.RawStdEncoding.EncodeToString([]byte("s3cret!")) + ".", "x[REDACTED]."},
		{"base64 std binary", []string{binary}, "<" + base64.StdEncoding.EncodeToString([]byte(binary)) + ">", "<[REDACTED]>"},
		{"base64 url binary", []string{binary}, "<" + base64.URLEncoding.EncodeToString([]byte(binary)) + ">", "<[REDACTED]>"},
		{"base64 url unpadded", []string{binary}, "<" + base64.RawURLEncoding.EncodeToString([]byte(binary)) + ">", "<[REDACTED]>"},
		{"hex", []string{"s3cret!"}, "h=" + hex.EncodeToString([]byte("s3cret!")), "h=[REDACTED]"},
		{"HEX", []string{"s3cret!"}, "h=" + strings.ToUpper(hex.EncodeToString([]byte("s3cret!"))), "h=[REDACTED]"},
		{"json", []string{quoted}, `{"v":"pa\"ss\\wo\u003crd\u003e\n\u2028"}`, `{"v":"[REDACTED]"}`},
		{"json without html escaping", []string{quoted}, `{"v":"pa\"ss\\wo<rd>\n\u2028"}`, `{"v":"[REDACTED]"}`},
		{"raw and encoded", []string{"s3cret!"}, "s3cret! " + hex.EncodeToString([]byte("s3cret!")), "[REDACTED] [REDACTED]"},
		{"short values ignored", []string{"abc", "", "ok", "long-enough"}, "abc ok long-enough", "abc ok [REDACTED]"},
		{"no values", nil, "anything", "anything"},
		{"empty input", []string{"token"}, "", ""},
		{"input shorter than a value", []string{"token"}, "tok", "tok"},
		{"marker text", []string{"[REDACTED]"}, "a [REDACTED] b", "a [REDACTED] b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor(secretsOf(tt.values...))
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := r.Bytes([]byte(tt.in)); string(got) != tt.want {
				t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorTooShortAndEmpty(t *testing.T) {
	r := NewRedactor(secretsOf("abc", "", "long-enough", "ok", "four"))
	if got := r.TooShort(); !slices.Equal(got, []int{0, 1, 3}) {
		t.Errorf("TooShort = %v", got)
	}
	if r.Empty() {
		t.Error("Empty with two redactable values")
	}
	for _, r := range []*Redactor{nil, NewRedactor(nil), NewRedactor(secretsOf("abc", "xy"))} {
		if !r.Empty() {
			t.Error("not Empty without a redactable value")
		}
		if r.String("abc xy") != "abc xy" || string(r.Bytes([]byte("abc xy"))) != "abc xy" {
			t.Error("an empty Redactor changed its input")
		}
	}
	var nilR *Redactor
	if nilR.TooShort() != nil {
		t.Error("nil Redactor has short values")
	}
}

// Without a secret in it, Bytes returns its argument and allocates
// nothing; so does String.
func TestRedactorNoMatchDoesNotAllocate(t *testing.T) {
	r := NewRedactor(benchSecrets(t))
	body := benchBody(t, nil)
	if got := r.Bytes(body); &got[0] != &body[0] || len(got) != len(body) {
		t.Fatal("Bytes did not return its argument")
	}
	s := string(body)
	if got := r.String(s); got != s {
		t.Fatal("String changed its argument")
	}
	if a := testing.AllocsPerRun(20, func() { r.Bytes(body) }); a != 0 {
		t.Errorf("Bytes allocated %v times", a)
	}
	if a := testing.AllocsPerRun(20, func() { _ = r.String(s) }); a != 0 {
		t.Errorf("String allocated %v times", a)
	}
}

// benchSecrets returns 20 values shaped like real credentials.
func benchSecrets(tb testing.TB) []secret.Value {
	var out []secret.Value
	for i := range 20 {
		b := make([]byte, 16+i)
		rand.Read(b)
		switch i % 4 {
		case 0:
			out = append(out, secret.Value(hex.EncodeToString(b)))
		case 1:
			out = append(out, secret.Value("sk_live_"+base64.RawURLEncoding.EncodeToString(b)))
		case 2:
			out = append(out, secret.Value(rand.Text()))
		default:
			out = append(out, secret.Value(fmt.Sprintf("postgres://app:%s@db:5432/app", base64.RawStdEncoding.EncodeToString(b))))
		}
	}
	return out
}

// benchBody returns 64 KiB of JSON log lines, with each value in leaks
// written into it once, raw or encoded.
func benchBody(tb testing.TB, leaks []secret.Value) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 64<<10; i++ {
		fmt.Fprintf(&buf, `{"time":"2030-01-02T03:04:%02dZ","level":"info","msg":"handled request","path":"/orders/%d","status":200,"user":"%s"}`+"\n",
			i%60, i*7919, rand.Text()[:12])
		if i%40 == 20 && len(leaks) > 0 {
			v := []byte(leaks[0].Reveal())
			switch len(leaks) % 3 {
			case 0:
				buf.Write(v)
			case 1:
				buf.WriteString(base64.StdEncoding.EncodeToString(v))
			default:
				buf.WriteString(hex.EncodeToString(v))
			}
			leaks = leaks[1:]
		}
	}
	return buf.Bytes()[:64<<10]
}

func BenchmarkRedactorBytes(b *testing.B) {
	vals := benchSecrets(b)
	r := NewRedactor(vals)
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"no secrets", benchBody(b, nil)},
		{"10 secrets", benchBody(b, vals[:10])},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r.Bytes(bc.body)
			}
		})
	}
}

func BenchmarkNewRedactor(b *testing.B) {
	vals := benchSecrets(b)
	b.ReportAllocs()
	for b.Loop() {
		NewRedactor(vals)
	}
}

// encodedForms computes, independently of forms, the encodings a Redactor
// promises to find.
func encodedForms(v string) []string {
	b := []byte(v)
	out := []string{v,
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
	}
	if utf8.ValidString(v) {
		j, _ := json.Marshal(v)
		out = append(out, string(j[1:len(j)-1]))
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		j = bytes.TrimSpace(buf.Bytes())
		out = append(out, string(j[1:len(j)-1]))
	}
	return out
}

func TestRedactorFindsEveryForm(t *testing.T) {
	vals := benchSecrets(t)
	vals = append(vals, "with \"quotes\" & <tags>", secret.Value(randomish(300)))
	r := NewRedactor(vals)
	for _, v := range vals {
		for _, f := range encodedForms(v.Reveal()) {
			in := "<<" + f + ">>"
			if got := r.String(in); got != "<<"+secret.Redacted+">>" {
				t.Fatalf("form %q of a value: got %q", f, got)
			}
		}
	}
}

func randomish(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

// FuzzRedactor checks, for any values and input, that every occurrence of
// every form of every value of at least MinRedactLen bytes lies inside a
// redacted range, that nothing outside those ranges changes, and that the
// output shows a value only where it overlaps a marker the Redactor wrote
// (the marker is public text, so a value that shares bytes with it, like
// "ED]x" after a marker, reveals nothing).
func FuzzRedactor(f *testing.F) {
	f.Add("password123\x00abcdef12\x00ef12ghij", []byte("login password123 xxabcdef12ghijxx"))
	f.Add("abab\x00ab", []byte("xabababab ab"))
	f.Add("s3cret!", []byte(base64.StdEncoding.EncodeToString([]byte("s3cret!"))+" "+hex.EncodeToString([]byte("s3cret!"))))
	f.Add("ED]x\x00abcd", []byte("abcdx"))
	f.Add("[REDACTED]\x00REDA", []byte("[REDACTED]"))
	f.Add("pa\"ss\\wo<rd>", []byte(`"pa\"ss\\wo\u003crd\u003e"`))
	f.Add("\xfb\xff\xbf\xfe", []byte("+/+/-_-_"))
	f.Fuzz(func(t *testing.T, list string, in []byte) {
		vals := strings.Split(list, "\x00")
		if len(vals) > 20 {
			vals = vals[:20]
		}
		r := NewRedactor(secretsOf(vals...))
		inCopy := bytes.Clone(in)
		out := r.Bytes(in)
		if !bytes.Equal(in, inCopy) {
			t.Fatal("Bytes modified its input")
		}
		if s := r.String(string(in)); s != string(out) {
			t.Fatalf("String = %q, Bytes = %q", s, out)
		}
		found := findSpans(r, in)
		if len(found) == 0 {
			if len(in) > 0 && (len(out) != len(in) || &out[0] != &in[0]) {
				t.Fatal("Bytes copied an input without secrets")
			}
		}
		// Input side: every occurrence is inside one redacted range.
		for _, v := range vals {
			if len(v) < MinRedactLen {
				continue
			}
			for _, form := range encodedForms(v) {
				for p := 0; p+len(form) <= len(in); p++ {
					if !bytes.HasPrefix(in[p:], []byte(form)) {
						continue
					}
					if !slices.ContainsFunc(found, func(sp span) bool { return sp.start <= p && p+len(form) <= sp.end }) {
						t.Fatalf("occurrence of a value form at %d is not redacted: spans %v", p, found)
					}
				}
			}
		}
		// Output side: rebuild where the markers are, check everything else
		// is the input unchanged, and that a value appears only across a
		// marker.
		var markers []span
		var rebuilt []byte
		prev := 0
		for i, sp := range found {
			if sp.start < prev || sp.end <= sp.start || (i > 0 && sp.start < found[i-1].end) {
				t.Fatalf("spans out of order: %v", found)
			}
			rebuilt = append(rebuilt, in[prev:sp.start]...)
			markers = append(markers, span{len(rebuilt), len(rebuilt) + len(secret.Redacted)})
			rebuilt = append(rebuilt, secret.Redacted...)
			prev = sp.end
		}
		rebuilt = append(rebuilt, in[prev:]...)
		if !bytes.Equal(rebuilt, out) {
			t.Fatalf("output %q is not the input with markers in the redacted ranges", out)
		}
		for _, v := range vals {
			if len(v) < MinRedactLen {
				continue
			}
			for p := 0; p+len(v) <= len(out); p++ {
				if !bytes.HasPrefix(out[p:], []byte(v)) {
					continue
				}
				if !slices.ContainsFunc(markers, func(m span) bool { return m.start < p+len(v) && p < m.end }) {
					t.Fatalf("output %q shows a value at %d", out, p)
				}
			}
		}
		for _, i := range r.TooShort() {
			if len(vals[i]) >= MinRedactLen {
				t.Fatalf("value %d of %d bytes reported too short", i, len(vals[i]))
			}
		}
	})
}
