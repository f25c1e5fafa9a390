package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeStrictRejects(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name    string
		body    string
		kind    error
		pointer string
	}{
		{"duplicate key", `{"a":1,"a":2}`, ErrAmbiguous, "/a"},
		{"duplicate key via escape", `{"a":1,"\u0061":2}`, ErrAmbiguous, "/a"},
		{"duplicate key via escaped slash", `{"a/b":1,"a\/b":2}`, ErrAmbiguous, "/a~1b"},
		{"nested duplicate", `{"x":[{"k":1},{"k":1,"k":2}]}`, ErrAmbiguous, "/x/1/k"},
		{"duplicate empty key", `{"":1,"":2}`, ErrAmbiguous, "/"},
		{"invalid utf-8 in value", "{\"a\":\"\xff\"}", ErrAmbiguous, "/a"},
		{"invalid utf-8 in key", "{\"\xc3\x28\":1}", ErrAmbiguous, ""},
		{"utf-8 encoded surrogate", "[\"\xed\xa0\x80\"]", ErrAmbiguous, "/0"},
		{"overlong utf-8", "[\"\xc0\xaf\"]", ErrAmbiguous, "/0"},
		{"truncated utf-8", "[\"\xe2\x82\"]", ErrAmbiguous, "/0"},
		{"lone high surrogate", `["\ud800"]`, ErrAmbiguous, "/0"},
		{"lone high surrogate then text", `["\ud800abcdef"]`, ErrAmbiguous, "/0"},
		{"high surrogate twice", `["\ud800\ud800"]`, ErrAmbiguous, "/0"},
		{"lone low surrogate", `["\udc00"]`, ErrAmbiguous, "/0"},
		{"reversed pair", `["\udc00\ud800"]`, ErrAmbiguous, "/0"},
		{"lone surrogate in key", `{"\ud83d":1}`, ErrAmbiguous, ""},
		{"1e400", `{"n":1e400}`, ErrNumber, "/n"},
		{"-1e400", `[-1e400]`, ErrNumber, "/0"},
		{"huge integer", strings.Repeat("9", 400), ErrNumber, ""},
		{"500-digit number", "[" + strings.Repeat("1", 500) + "]", ErrNumber, "/0"},
		{"101 digits", "1" + strings.Repeat("0", 100), ErrNumber, ""},
		{"depth 65 arrays", deep(65), ErrTooDeep, strings.Repeat("/0", 64)},
		{"depth 65 objects", deepObj(65), ErrTooDeep, strings.Repeat("/a", 64)},
		{"trailing garbage", `{"a":1} x`, ErrSyntax, ""},
		{"two values", `1 2`, ErrSyntax, ""},
		{"trailing comma value", `[1],`, ErrSyntax, ""},
		{"bom", "\xef\xbb\xbf{}", ErrAmbiguous, ""},
		{"empty", ``, ErrSyntax, ""},
		{"only space", "  \n", ErrSyntax, ""},
		{"trailing comma in object", `{"a":1,}`, ErrSyntax, ""},
		{"trailing comma in array", `[1,]`, ErrSyntax, "/1"},
		{"single quotes", `{'a':1}`, ErrSyntax, ""},
		{"unquoted key", `{a:1}`, ErrSyntax, ""},
		{"leading zero", `[01]`, ErrSyntax, ""},
		{"plus sign", `[+1]`, ErrSyntax, "/0"},
		{"bare dot", `[1.]`, ErrSyntax, "/0"},
		{"no exponent digits", `[1e]`, ErrSyntax, "/0"},
		{"NaN", `[NaN]`, ErrSyntax, "/0"},
		{"Infinity", `[-Infinity]`, ErrSyntax, "/0"},
		{"hex", `[0x10]`, ErrSyntax, ""},
		{"control char", "[\"a\tb\"]", ErrSyntax, "/0"},
		{"bad escape", `["\x"]`, ErrSyntax, "/0"},
		{"short unicode escape", `["\u12"]`, ErrSyntax, "/0"},
		{"unterminated string", `["abc`, ErrSyntax, "/0"},
		{"unterminated array", `[1,2`, ErrSyntax, ""},
		{"unterminated object", `{"a":1`, ErrSyntax, ""},
		{"missing colon", `{"a" 1}`, ErrSyntax, "/a"},
		{"bad literal", `[tru]`, ErrSyntax, "/0"},
		{"comment", `{} // c`, ErrSyntax, ""},
		{"nul byte after value", "{}\x00", ErrSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeStrict([]byte(tt.body), Limits{})
			if err == nil {
				t.Fatalf("accepted %q as %v", tt.body, v)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want *SyntaxError", err, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v does not wrap %v", err, tt.kind)
			}
			if se.Pointer != tt.pointer {
				t.Errorf("pointer %q, want %q", se.Pointer, tt.pointer)
			}
			if se.Offset < 0 || se.Offset > int64(len(tt.body)) {
				t.Errorf("offset %d outside the body", se.Offset)
			}
		})
	}
}

func TestDecodeStrictReasonsDoNotQuoteBody(t *testing.T) {
	secret := secretValue(t)
	bodies := []string{
		`{"k":"` + secret + `"` + `,"k":1}`,
		`{"k":"` + secret + "\xff" + `"}`,
		`{"k":"` + secret + `\ud800"}`,
		`{"k":` + secret + `}`,
		`{"k":"` + secret + `"} ` + secret,
		`{"k":"` + secret,
	}
	for _, b := range bodies {
		_, err := DecodeStrict([]byte(b), Limits{})
		if err == nil {
			t.Fatalf("accepted %q", b)
		}
		var se *SyntaxError
		errors.As(err, &se)
		if strings.Contains(se.Reason, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the body: %v", err)
		}
	}
}

func TestDecodeStrictAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want any
	}{
		{"surrogate pair", `["\ud83d\ude00"]`, []any{"\U0001F600"}},
		{"surrogate pair upper hex", `["\uD83D\uDE00x"]`, []any{"\U0001F600x"}},
		{"raw utf-8", `{"k":"héllo ✓ 😀"}`, map[string]any{"k": "héllo ✓ 😀"}},
		{"empty object", `{}`, map[string]any{}},
		{"empty array", `[]`, []any{}},
		{"empty key", `{"":1}`, map[string]any{"": json.Number("1")}},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, []any{map[string]any{"a": json.Number("1")}, map[string]any{"a": json.Number("2")}}},
		{"same key at different depths", `{"a":{"a":1}}`, map[string]any{"a": map[string]any{"a": json.Number("1")}}},
		{"negative zero exponent", `-0.0e-5`, json.Number("-0.0e-5")},
		{"exponent forms", `[1E+2,1e-2,0.5]`, []any{json.Number("1E+2"), json.Number("1e-2"), json.Number("0.5")}},
		{"tiny number underflows", `1e-400`, json.Number("1e-400")},
		{"max float", `1.7976931348623157e308`, json.Number("1.7976931348623157e308")},
		{"100 digits", "1" + strings.Repeat("0", 99), json.Number("1" + strings.Repeat("0", 99))},
		{"escapes", `"\"\\\/\b\f\n\r\t\u0000"`, "\"\\/\b\f\n\r\t\x00"},
		{"literals", ` [true, false, null] `, []any{true, false, nil}},
		{"whitespace around", "\r\n\t {\"a\" : [ 1 , 2 ] } \n", map[string]any{"a": []any{json.Number("1"), json.Number("2")}}},
		{"depth 64", strings.Repeat("[", 64) + strings.Repeat("]", 64), nil},
		{"top-level string", `"x"`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeStrict([]byte(tt.body), Limits{})
			if err != nil {
				t.Fatalf("refused %q: %v", tt.body, err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeStrictLimits(t *testing.T) {
	body := []byte(strings.Repeat("[", 10) + strings.Repeat("]", 10))
	if _, err := DecodeStrict(body, Limits{MaxDepth: 10}); err != nil {
		t.Errorf("depth 10 with MaxDepth 10: %v", err)
	}
	if _, err := DecodeStrict(body, Limits{MaxDepth: 9}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("depth 10 with MaxDepth 9: %v, want ErrTooDeep", err)
	}
	if _, err := DecodeStrict([]byte("-12.5e10"), Limits{MaxNumberLen: 5}); err != nil {
		t.Errorf("5 digits with MaxNumberLen 5: %v", err)
	}
	if _, err := DecodeStrict([]byte("-12.5e100"), Limits{MaxNumberLen: 5}); !errors.Is(err, ErrNumber) {
		t.Errorf("6 digits with MaxNumberLen 5: %v, want ErrNumber", err)
	}
}

func TestCheckDepth(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		body string
		max  int
		ok   bool
	}{
		{"flat", `{"a":1}`, 1, true},
		{"at limit", deep(64), 64, true},
		{"over limit", deep(65), 64, false},
		{"default limit", deep(65), 0, false},
		{"brackets in string", `{"a":"[[[[[[[[[["}`, 1, true},
		{"braces in key", `{"{{{{":1}`, 1, true},
		{"escaped quote keeps string open", `{"a":"\"[[[["}`, 1, true},
		{"escaped backslash closes string", `["\\", [[[]]]]`, 3, false},
		{"escaped backslash then quote", `["\\\"[[[[" ]`, 1, true},
		{"unicode escape", `["\u005b[[", []]`, 2, true},
		{"invalid json still judged", `[[[[ garbage`, 3, false},
		{"invalid json under limit", `]]]]}}{{`, 2, true},
		{"unterminated string hides brackets", `["[[[[[[`, 1, true},
		{"mixed", `{"a":[{"b":[1]}]}`, 4, true},
		{"mixed over", `{"a":[{"b":[1]}]}`, 3, false},
		{"empty", ``, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDepth([]byte(tt.body), tt.max)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckDepth(%q, %d) = %v, want ok=%v", tt.body, tt.max, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrTooDeep) {
				t.Errorf("error %v does not wrap ErrTooDeep", err)
			}
		})
	}
}

func TestCheckDepthDoesNotAllocate(t *testing.T) {
	body := []byte(`{"a":[{"b":"[[[\"x"},1,2,3],"c":{"d":null}}`)
	if n := testing.AllocsPerRun(100, func() { _ = CheckDepth(body, 64) }); n != 0 {
		t.Errorf("CheckDepth allocates %v times per call", n)
	}
}

// refDepth is the nesting depth of a decoded value.
func refDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, refDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range v {
			d = max(d, refDepth(e))
		}
		return d + 1
	}
	return 0
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `{"a":1,"\u0061":2}`, `["\ud800"]`,
		`-0.0e-5`, `1e400`, "\xef\xbb\xbf{}", `[[[[]]]]`, `"\/\b"`, `{"":""}`, "[\"\xff\"]",
		`{"a" : true , "b":false}`, `123456789012345678901234567890`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := DecodeStrict(body, Limits{})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Offset < 0 || se.Offset > int64(len(body)) {
				t.Fatalf("offset %d outside body of %d bytes", se.Offset, len(body))
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %q, which encoding/json calls invalid", body)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json cannot decode %q: %v", body, err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("decoded %q as %#v, encoding/json as %#v", body, v, want)
		}
		// Every accepted number fits a float64.
		var asFloat any
		if err := json.Unmarshal(body, &asFloat); err != nil {
			t.Fatalf("encoding/json refuses numbers in %q: %v", body, err)
		}
		if err := CheckDepth(body, DefaultMaxDepth); err != nil {
			t.Fatalf("CheckDepth refuses %q that DecodeStrict accepted: %v", body, err)
		}
	})
}

func FuzzCheckDepth(f *testing.F) {
	for _, s := range []string{`[[["]]]"]]]`, `{"a":{"b":"\"{"}}`, `["\\",[[]]]`, `[]`, `1`, `{`} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		if max <= 0 || max > 200 {
			max = DefaultMaxDepth
		}
		err := CheckDepth(body, max) // never panics, whatever the input
		if !json.Valid(body) {
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return // valid syntax but a number out of range
		}
		if d := refDepth(v); (d <= max) != (err == nil) {
			t.Fatalf("CheckDepth(%q, %d) = %v, but the depth is %d", body, max, err, d)
		}
	})
}

// sampleBody is a 1 KiB JSON object typical of an API request.
func sampleBody(tb testing.TB) []byte {
	var sb strings.Builder
	sb.WriteString(`{"order_id":"7d2f4b0e-3c1a-4f7e-9a55-0b9c2d1e8f63","customer":{"email":"buyer@example.com","name":"Ana Müller","tier":"gold"},"items":[`)
	for i := 0; i < 8; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"sku":"SKU-%04d","qty":%d,"price":%d.99,"note":"gift wrap \u2713"}`, i, i+1, 10+i)
	}
	sb.WriteString(`],"shipping":{"street":"1 Main St","city":"Springfield","zip":"12345","country":"US"},"created":"2024-05-01T12:00:00Z","tags":["a","b","c"],"paid":true,"coupon":null,"comment":"`)
	// Pad the comment so the body is exactly 1 KiB.
	sb.WriteString(strings.Repeat("z", max(0, 1024-sb.Len()-2)))
	sb.WriteString(`"}`)
	s := sb.String()
	if !json.Valid([]byte(s)) {
		tb.Fatalf("sample body is not JSON: %s", s)
	}
	return []byte(s)
}

func BenchmarkDecodeStrict(b *testing.B) {
	body := sampleBody(b)
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeStrict(body, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The alternative considered: encoding/json's Decoder.Token with
	// duplicate tracking. It still lacks the UTF-8, surrogate and number
	// checks, so it is a lower bound for that approach.
	b.Run("token", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeTokens(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checkdepth", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := CheckDepth(body, DefaultMaxDepth); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// decodeTokens builds the same value with encoding/json's tokenizer,
// refusing duplicate keys and excessive depth. Benchmark only.
func decodeTokens(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var read func(depth int) (any, error)
	read = func(depth int) (any, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case json.Delim('{'):
			if depth >= DefaultMaxDepth {
				return nil, ErrTooDeep
			}
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				if _, dup := m[k]; dup {
					return nil, ErrAmbiguous
				}
				v, err := read(depth + 1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			_, err := dec.Token()
			return m, err
		case json.Delim('['):
			if depth >= DefaultMaxDepth {
				return nil, ErrTooDeep
			}
			a := []any{}
			for dec.More() {
				v, err := read(depth + 1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return tok, nil
	}
	v, err := read(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrSyntax
	}
	return v, nil
}
