package abi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// Test messages are built from parts: a raw value is appended verbatim, a uv
// as a varint and a string with its length first.
type (
	raw []byte
	uv  uint64
)

func build(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case raw:
			b = append(b, p...)
		case uv:
			b = binary.AppendUvarint(b, uint64(p))
		case string:
			b = binary.AppendUvarint(b, uint64(len(p)))
			b = append(b, p...)
		default:
			panic("build: unexpected part type")
		}
	}
	return b
}

// sampleRequests are valid requests covering every field; the fuzz targets
// use their encodings as seeds.
var sampleRequests = []*Request{
	{Method: "GET"},
	{
		Method:   "GET",
		Path:     "/hello",
		Route:    "/hello",
		RawQuery: "name=world",
		Headers: []Header{
			{Name: "Accept", Value: "*/*"},
			{Name: "User-Agent", Value: "curl/8.5.0"},
		},
		Caller:    "key:ci-bot",
		RequestID: "01J9Z3W8KX",
	},
	{
		Method:   "POST",
		Path:     "/users/42/posts/%E2%9C%93",
		Route:    "/users/{id}/posts/{slug}",
		Params:   []Param{{Name: "id", Value: "42"}, {Name: "slug", Value: "✓"}},
		RawQuery: "a=1&a=2&b",
		Headers: []Header{
			{Name: "Content-Type", Value: "application/json"},
			{Name: "X-Multi", Value: "one"},
			{Name: "X-Multi", Value: "two"},
			{Name: "X-Empty", Value: ""},
			{Name: "X-Tab", Value: "a\tb"},
			{Name: "X-Obs-Text", Value: "caf\xe9"},
		},
		Body:      []byte(`{"hello":"world"}`),
		Caller:    "admin",
		RequestID: "req-1",
	},
	{Method: "PUT", Path: "/bin", Body: allBytes()},
}

var sampleResponses = []*Response{
	{Status: 200},
	{Status: 100},
	{Status: 599},
	{Status: 204, Headers: []Header{{Name: "X-Request-Id", Value: "req-1"}}},
	{
		Status: 201,
		Headers: []Header{
			{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
			{Name: "Set-Cookie", Value: "a=1"},
			{Name: "Set-Cookie", Value: "b=2"},
		},
		Body: []byte("created\n"),
	},
	{Status: 200, Body: allBytes()},
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestRequestRoundTrip(t *testing.T) {
	for _, want := range sampleRequests {
		b := AppendRequest(nil, want)
		if len(b) != want.size() {
			t.Errorf("%s %s: encoded %d bytes, size() = %d", want.Method, want.Path, len(b), want.size())
		}
		got, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("%s %s: DecodeRequest: %v", want.Method, want.Path, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\ngot  %#v\nwant %#v", got, want)
		}
		if err := want.Validate(); err != nil {
			t.Errorf("%s %s: Validate: %v", want.Method, want.Path, err)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, want := range sampleResponses {
		b := AppendResponse(nil, want)
		if len(b) != want.size() {
			t.Errorf("status %d: encoded %d bytes, size() = %d", want.Status, len(b), want.size())
		}
		got, err := DecodeResponse(b)
		if err != nil {
			t.Fatalf("status %d: DecodeResponse: %v", want.Status, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\ngot  %#v\nwant %#v", got, want)
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	prefix := []byte("prefix")
	b := AppendResponse(bytes.Clone(prefix), sampleResponses[4])
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("AppendResponse lost the prefix: %q", b)
	}
	if _, err := DecodeResponse(b[len(prefix):]); err != nil {
		t.Fatalf("DecodeResponse: %v", err)
	}
}

func TestEncodingLayout(t *testing.T) {
	// The byte layout is part of the ABI: pin it down for a small message
	// of each kind.
	req := &Request{
		Method:    "GET",
		Path:      "/u/7",
		Route:     "/u/{id}",
		Params:    []Param{{Name: "id", Value: "7"}},
		RawQuery:  "x=1",
		Headers:   []Header{{Name: "A", Value: "b"}},
		Body:      []byte("hi"),
		Caller:    "admin",
		RequestID: "r1",
	}
	wantReq := build(raw{1}, "GET", "/u/7", "/u/{id}", uv(1), "id", "7", "x=1", uv(1), "A", "b", "hi", "admin", "r1")
	if got := AppendRequest(nil, req); !bytes.Equal(got, wantReq) {
		t.Errorf("request encoding:\ngot  % x\nwant % x", got, wantReq)
	}

	resp := &Response{Status: 404, Headers: []Header{{Name: "A", Value: "b"}}, Body: []byte("no")}
	wantResp := []byte{1, 0x94, 0x03, 1, 1, 'A', 1, 'b', 2, 'n', 'o'}
	if got := AppendResponse(nil, resp); !bytes.Equal(got, wantResp) {
		t.Errorf("response encoding:\ngot  % x\nwant % x", got, wantResp)
	}
}

func TestDecodeNormalizesEmpty(t *testing.T) {
	r := &Request{Method: "GET", Params: []Param{}, Headers: []Header{}, Body: []byte{}}
	got, err := DecodeRequest(AppendRequest(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	if got.Params != nil || got.Headers != nil || got.Body != nil {
		t.Errorf("empty lists decode to %#v, %#v, %#v; want nil", got.Params, got.Headers, got.Body)
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b := AppendRequest(nil, sampleRequests[2])
	r, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !reflect.DeepEqual(r, sampleRequests[2]) {
		t.Fatal("decoded request changed when the input was overwritten")
	}

	b = AppendResponse(nil, sampleResponses[4])
	resp, err := DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !reflect.DeepEqual(resp, sampleResponses[4]) {
		t.Fatal("decoded response changed when the input was overwritten")
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	// valid is the tail of a request after its method: the request is
	// valid when the method is.
	valid := []any{"/", "/", uv(0), "", uv(0), "", "", ""}
	withMethod := func(m string) []byte { return build(append([]any{raw{1}, m}, valid...)...) }
	withHeaders := func(parts ...any) []byte {
		p := append([]any{raw{1}, "GET", "/", "/", uv(0), ""}, parts...)
		return build(append(p, "", "", "")...)
	}

	manyHeaders := []any{uv(MaxHeaders + 1)}
	for range MaxHeaders + 1 {
		manyHeaders = append(manyHeaders, "A", "b")
	}
	manyParams := []any{raw{1}, "GET", "/", "/", uv(MaxParams + 1)}
	for range MaxParams + 1 {
		manyParams = append(manyParams, "p", "v")
	}
	manyParams = append(manyParams, "", uv(0), "", "", "")
	big := strings.Repeat("v", MaxHeaderBytes/2)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"valid", withMethod("GET"), nil},
		{"empty", nil, ErrTruncated},
		{"format only", []byte{1}, ErrTruncated},
		{"format 0", []byte{0}, ErrFormat},
		{"no format byte", withMethod("GET")[1:], ErrFormat},
		{"empty method", withMethod(""), ErrMethod},
		{"method with space", withMethod("GE T"), ErrMethod},
		{"method with colon", withMethod("GET:"), ErrMethod},
		{"method with NUL", withMethod("GET\x00"), ErrMethod},
		{"method non-ASCII", withMethod("GÉT"), ErrMethod},
		{"overlong varint", build(raw{1, 0x83, 0x00}, raw("GET")), ErrVarint},
		{"overlong zero", build(raw{1, 0x80, 0x00}), ErrVarint},
		{"varint overflow", build(raw{1}, raw(bytes.Repeat([]byte{0xff}, 10)), raw{1}), ErrVarint},
		{"varint truncated", build(raw{1, 0x80}), ErrTruncated},
		{"string past end", build(raw{1}, uv(4), raw("GET")), ErrTruncated},
		{"huge string length", build(raw{1}, uv(1<<62), raw("GET")), ErrTruncated},
		{"missing fields", build(raw{1}, "GET", "/"), ErrTruncated},
		{"too many params", build(manyParams...), ErrTooManyParams},
		{"param count past end", build(raw{1}, "GET", "/", "/", uv(30), "a", "b"), ErrTruncated},
		{"too many headers", withHeaders(manyHeaders...), ErrTooManyHeaders},
		{"header count past end", build(raw{1}, "GET", "/", "/", uv(0), "", uv(200)), ErrTruncated},
		{"empty header name", withHeaders(uv(1), "", "v"), ErrHeaderName},
		{"header name with space", withHeaders(uv(1), "X Y", "v"), ErrHeaderName},
		{"header name with colon", withHeaders(uv(1), "X:", "v"), ErrHeaderName},
		{"header name with newline", withHeaders(uv(1), "X\nY", "v"), ErrHeaderName},
		{"header value with CRLF", withHeaders(uv(1), "X", "a\r\nInjected: yes"), ErrHeaderValue},
		{"header value with LF", withHeaders(uv(1), "X", "a\nb"), ErrHeaderValue},
		{"header value with CR", withHeaders(uv(1), "X", "a\rb"), ErrHeaderValue},
		{"header value with NUL", withHeaders(uv(1), "X", "a\x00b"), ErrHeaderValue},
		{"header bytes over limit", withHeaders(uv(3), "A", big, "B", big, "C", "v"), ErrHeadersTooLarge},
		{"huge body length", withHeaders(uv(0), uv(1<<40)), ErrTruncated},
		{"trailing byte", append(withMethod("GET"), 0), ErrTrailingData},
		{"too large", make([]byte, MaxRequestSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRequest(tt.in)
			if err != tt.want {
				t.Fatalf("DecodeRequest error = %v, want %v", err, tt.want)
			}
			if (r == nil) != (err != nil) {
				t.Fatalf("DecodeRequest returned request %v with error %v", r, err)
			}
		})
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"valid", build(raw{1}, uv(200), uv(0), ""), nil},
		{"empty", nil, ErrTruncated},
		{"format 2", build(raw{2}, uv(200), uv(0), ""), ErrFormat},
		{"no status", []byte{1}, ErrTruncated},
		{"status 0", build(raw{1}, uv(0), uv(0), ""), ErrStatus},
		{"status 99", build(raw{1}, uv(99), uv(0), ""), ErrStatus},
		{"status 600", build(raw{1}, uv(600), uv(0), ""), ErrStatus},
		{"status 2^64-1", build(raw{1}, uv(1<<64-1), uv(0), ""), ErrStatus},
		{"overlong status", build(raw{1}, raw{0xc8, 0x81, 0x00}, uv(0), ""), ErrVarint},
		{"header injection", build(raw{1}, uv(200), uv(1), "X", "1\r\nSet-Cookie: a=b", ""), ErrHeaderValue},
		{"bad header name", build(raw{1}, uv(200), uv(1), "Set Cookie", "a=b", ""), ErrHeaderName},
		{"too many headers", build(raw{1}, uv(200), uv(MaxHeaders+1)), ErrTooManyHeaders},
		{"body past end", build(raw{1}, uv(200), uv(0), uv(10), raw("short")), ErrTruncated},
		{"no body", build(raw{1}, uv(200), uv(0)), ErrTruncated},
		{"trailing data", build(raw{1}, uv(200), uv(0), "", raw{0}), ErrTrailingData},
		{"too large", make([]byte, MaxResponseSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeResponse(tt.in)
			if err != tt.want {
				t.Fatalf("DecodeResponse error = %v, want %v", err, tt.want)
			}
			if (r == nil) != (err != nil) {
				t.Fatalf("DecodeResponse returned response %v with error %v", r, err)
			}
		})
	}
}

func TestValidateMatchesDecode(t *testing.T) {
	headers := func(n int, name, value string) []Header {
		hs := make([]Header, n)
		for i := range hs {
			hs[i] = Header{Name: name, Value: value}
		}
		return hs
	}
	big := strings.Repeat("x", MaxHeaderBytes/4-1) // with a one-byte name: a quarter of the limit

	requests := []struct {
		name string
		r    *Request
		want error
	}{
		{"minimal", &Request{Method: "GET"}, nil},
		{"no method", &Request{}, ErrMethod},
		{"lower-case method", &Request{Method: "get"}, nil},
		{"custom method", &Request{Method: "PURGE"}, nil},
		{"bad method", &Request{Method: "GET /"}, ErrMethod},
		{"max params", &Request{Method: "GET", Params: make([]Param, MaxParams)}, nil},
		{"too many params", &Request{Method: "GET", Params: make([]Param, MaxParams+1)}, ErrTooManyParams},
		{"max headers", &Request{Method: "GET", Headers: headers(MaxHeaders, "A", "b")}, nil},
		{"too many headers", &Request{Method: "GET", Headers: headers(MaxHeaders+1, "A", "b")}, ErrTooManyHeaders},
		{"bad header name", &Request{Method: "GET", Headers: headers(1, "A b", "c")}, ErrHeaderName},
		{"bad header value", &Request{Method: "GET", Headers: headers(1, "A", "b\nc")}, ErrHeaderValue},
		{"headers at limit", &Request{Method: "GET", Headers: headers(4, "N", big)}, nil},
		{"headers over limit", &Request{Method: "GET", Headers: headers(5, "N", big)}, ErrHeadersTooLarge},
		{"too large", &Request{Method: "GET", Body: make([]byte, MaxRequestSize)}, ErrTooLarge},
		{"bad method and too large", &Request{Body: make([]byte, MaxRequestSize)}, ErrTooLarge},
	}
	for _, tt := range requests {
		if err := tt.r.Validate(); err != tt.want {
			t.Errorf("request %q: Validate = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := DecodeRequest(AppendRequest(nil, tt.r)); err != tt.want {
			t.Errorf("request %q: DecodeRequest = %v, want %v", tt.name, err, tt.want)
		}
	}

	// A 200 response with no headers and a body of n bytes, n >= 1<<21,
	// encodes to 1+2+1+4+n bytes.
	responses := []struct {
		name string
		r    *Response
		want error
	}{
		{"ok", &Response{Status: 200}, nil},
		{"zero status", &Response{}, ErrStatus},
		{"negative status", &Response{Status: -200}, ErrStatus},
		{"status 600", &Response{Status: 600}, ErrStatus},
		{"bad header name", &Response{Status: 200, Headers: headers(1, "", "v")}, ErrHeaderName},
		{"bad header value", &Response{Status: 200, Headers: headers(1, "A", "\x00")}, ErrHeaderValue},
		{"too many headers", &Response{Status: 200, Headers: headers(MaxHeaders+1, "A", "b")}, ErrTooManyHeaders},
		{"max size", &Response{Status: 200, Body: make([]byte, MaxResponseSize-8)}, nil},
		{"too large", &Response{Status: 200, Body: make([]byte, MaxResponseSize-7)}, ErrTooLarge},
	}
	for _, tt := range responses {
		if err := tt.r.Validate(); err != tt.want {
			t.Errorf("response %q: Validate = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := DecodeResponse(AppendResponse(nil, tt.r)); err != tt.want {
			t.Errorf("response %q: DecodeResponse = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestDecodeAllocationIsBoundedByInput(t *testing.T) {
	// Each message claims far more data than it holds; decoding must fail
	// before allocating for the claim.
	inputs := [][]byte{
		build(raw{1}, uv(MaxRequestSize)),
		build(raw{1}, "GET", "/", "/", uv(0), "", uv(0), uv(MaxRequestSize-100)),
		build(raw{1}, "GET", "/", "/", uv(MaxParams)),
		build(raw{1}, "GET", "/", "/", uv(0), "", uv(MaxHeaders)),
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := DecodeRequest(in); !errors.Is(err, ErrTruncated) {
				t.Fatalf("DecodeRequest(% x) error = %v, want %v", in, err, ErrTruncated)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("DecodeRequest(% x) allocated %d bytes in 100 runs", in, n)
		}
	}
}

func TestTokenChars(t *testing.T) {
	const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for c := range 256 {
		want := strings.IndexByte(tchars, byte(c)) >= 0
		if got := isTokenChar(byte(c)); got != want {
			t.Errorf("isTokenChar(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestErrorsDoNotEchoInput(t *testing.T) {
	const marker = "MARKER"
	inputs := [][]byte{
		build(raw{1}, "GET "+marker),
		build(raw{1}, "GET", "/", "/", uv(0), "", uv(1), marker+" x", "v"),
		build(raw{1}, "GET", "/", "/", uv(0), "", uv(1), "X", marker+"\n"),
	}
	for _, in := range inputs {
		_, err := DecodeRequest(in)
		if err == nil || strings.Contains(err.Error(), marker) {
			t.Errorf("DecodeRequest error = %v, want an error without the input", err)
		}
	}
}
