package httpc

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

var allErrors = []error{ErrInvalid, ErrDenied, ErrLimit, ErrUnavailable}

// only reports whether err matches want and none of the other sentinels.
func only(err, want error) bool {
	for _, e := range allErrors {
		if errors.Is(err, e) != (e == want) {
			return false
		}
	}
	return true
}

// fakeHost replaces fetch for the duration of a test. It records the
// requests the SDK sends, decoded as the host decodes them, and answers
// with answer.
type fakeHost struct {
	t      *testing.T
	sent   []*abi.Outbound
	ops    []string
	answer func(op hostcall.Op, o *abi.Outbound) ([]byte, error)
}

func installHost(t *testing.T, answer func(op hostcall.Op, o *abi.Outbound) ([]byte, error)) *fakeHost {
	t.Helper()
	h := &fakeHost{t: t, answer: answer}
	saved := fetch
	t.Cleanup(func() { fetch = saved })
	fetch = func(op hostcall.Op, req []byte) ([]byte, error) {
		o, err := abi.DecodeOutbound(req)
		if err != nil {
			h.t.Fatalf("the host cannot decode the request: %v", err)
		}
		h.sent = append(h.sent, o)
		h.ops = append(h.ops, op.String())
		return h.answer(op, o)
	}
	return h
}

// respond answers every request with resp.
func respond(resp *abi.Response) func(hostcall.Op, *abi.Outbound) ([]byte, error) {
	return func(hostcall.Op, *abi.Outbound) ([]byte, error) { return abi.AppendResponse(nil, resp), nil }
}

func TestOutsideWebAssembly(t *testing.T) {
	errs := map[string]error{}
	_, errs["GET"] = Get("https://api.example.com/v1")
	_, errs["POST"] = Post("https://api.example.com/v1", "text/plain", []byte("x"))
	_, errs["PUT"] = Do(&Request{Method: "PUT", URL: "https://api.example.com/v1"})
	for m, err := range errs {
		if !only(err, ErrUnavailable) {
			t.Errorf("%s: error %v, want only %v", m, err, ErrUnavailable)
			continue
		}
		if want := `httpc: ` + m + ` "api.example.com": `; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %q, want it to start with %q", m, err, want)
		}
	}
}

// What the SDK sends is what the caller asked for, with the defaults
// applied, as the host decodes it.
func TestRequestsSent(t *testing.T) {
	h := installHost(t, respond(&abi.Response{Status: 200}))
	if _, err := Get("https://api.example.com/a?b=c"); err != nil {
		t.Fatal(err)
	}
	if _, err := Post("http://api.example.com:8080/p", "application/json", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Post("https://api.example.com/", "", []byte("raw")); err != nil {
		t.Fatal(err)
	}
	hdr := Header{{Name: "Authorization", Value: "Bearer x"}, {Name: "X-Multi", Value: "1"}, {Name: "x-multi", Value: "2"}}
	if _, err := Do(&Request{URL: "https://api.example.com/d", Header: hdr, Body: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	want := []*abi.Outbound{
		{Method: "GET", URL: "https://api.example.com/a?b=c"},
		{Method: "POST", URL: "http://api.example.com:8080/p", Headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"a":1}`)},
		{Method: "POST", URL: "https://api.example.com/", Body: []byte("raw")},
		{Method: "GET", URL: "https://api.example.com/d", Headers: hdr, Body: []byte("b")},
	}
	if len(h.sent) != len(want) {
		t.Fatalf("sent %d requests, want %d", len(h.sent), len(want))
	}
	for i, w := range want {
		g := h.sent[i]
		if g.Method != w.Method || g.URL != w.URL || !slices.Equal(g.Headers, w.Headers) || !bytes.Equal(g.Body, w.Body) {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
	wantOps := []string{`httpc: GET "api.example.com"`, `httpc: POST "api.example.com:8080"`, `httpc: POST "api.example.com"`, `httpc: GET "api.example.com"`}
	if !slices.Equal(h.ops, wantOps) {
		t.Errorf("ops = %q, want %q", h.ops, wantOps)
	}
}

func TestResponse(t *testing.T) {
	body := bytes.Repeat([]byte("r"), 1<<20)
	hdr := []abi.Header{{Name: "Content-Type", Value: "text/plain"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}}
	installHost(t, respond(&abi.Response{Status: 404, Headers: hdr, Body: body}))
	resp, err := Get("https://api.example.com/")
	if err != nil {
		t.Fatalf("a 404 response is an error: %v", err)
	}
	if resp.Status != 404 || !bytes.Equal(resp.Body, body) || !slices.Equal(resp.Header, Header(hdr)) {
		t.Errorf("response = %d %v, %d bytes", resp.Status, resp.Header, len(resp.Body))
	}
	if got := resp.Header.Values("set-cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Errorf("Values(set-cookie) = %q", got)
	}

	installHost(t, respond(&abi.Response{Status: 204}))
	resp, err = Get("https://api.example.com/")
	if err != nil || resp.Status != 204 || len(resp.Body) != 0 || len(resp.Header) != 0 {
		t.Errorf("empty response = %+v, %v", resp, err)
	}
}

// The host's errors reach the caller with their kind and message, and the
// error names the host but not the URL's credentials, path or query.
func TestHostErrors(t *testing.T) {
	const marker = "PRIVATE-MARKER"
	url := "https://user:" + marker + "@api.example.com:8443/" + marker + "?token=" + marker + "#" + marker
	for code, kind := range map[int32]error{
		abi.ErrCodeInvalid:     ErrInvalid,
		abi.ErrCodeDenied:      ErrDenied,
		abi.ErrCodeLimit:       ErrLimit,
		abi.ErrCodeUnavailable: ErrUnavailable,
		abi.ErrCodeNotFound:    ErrUnavailable,
		abi.ErrCodeConflict:    ErrUnavailable,
		-77:                    ErrUnavailable,
	} {
		installHost(t, func(op hostcall.Op, _ *abi.Outbound) ([]byte, error) {
			return nil, hostcall.Fail(op, kinds, code, "the host's reason")
		})
		_, err := Do(&Request{Method: "PATCH", URL: url, Header: Header{{Name: "Authorization", Value: marker}}, Body: []byte(marker)})
		if !only(err, kind) {
			t.Errorf("code %d: %v, want only %v", code, err, kind)
			continue
		}
		if !strings.Contains(err.Error(), "the host's reason") {
			t.Errorf("code %d: error %q lacks the host's message", code, err)
		}
	}
	if _, err := Get(url); err == nil || strings.Contains(err.Error(), marker) || !strings.Contains(err.Error(), `"api.example.com:8443"`) {
		t.Errorf("error %q: want the host and port, and nothing else of the URL", err)
	}
}

// Requests the host would refuse as malformed are refused before calling
// it, and the errors quote neither the URL's path, the header values nor
// the body.
func TestInvalidRequests(t *testing.T) {
	const marker = "PRIVATE-MARKER"
	h := installHost(t, respond(&abi.Response{Status: 200}))
	url := "https://api.example.com/" + marker
	manyHeaders := make(Header, abi.MaxHeaders+1)
	for i := range manyHeaders {
		manyHeaders[i] = abi.Header{Name: "X-H", Value: marker}
	}
	tests := map[string]*Request{
		"nil request":         nil,
		"empty URL":           {Method: "GET"},
		"method with space":   {Method: "GET " + marker, URL: url},
		"method with newline": {Method: "GET\n" + marker, URL: url},
		"header name":         {URL: url, Header: Header{{Name: "Bad Name", Value: marker}}},
		"empty header name":   {URL: url, Header: Header{{Name: "", Value: marker}}},
		"header value CRLF":   {URL: url, Header: Header{{Name: "X-A", Value: "a\r\nX-Injected: " + marker}}},
		"header value NUL":    {URL: url, Header: Header{{Name: "X-A", Value: "a\x00" + marker}}},
		"too many headers":    {URL: url, Header: manyHeaders},
		"too large":           {Method: "POST", URL: url, Body: bytes.Repeat([]byte(marker), abi.MaxOutboundSize/len(marker)+1)},
	}
	for name, r := range tests {
		_, err := Do(r)
		if !only(err, ErrInvalid) {
			t.Errorf("%s: error %v, want only %v", name, err, ErrInvalid)
			continue
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("%s: error %q echoes the request", name, err)
		}
	}
	if len(h.sent) != 0 {
		t.Errorf("%d invalid requests reached the host", len(h.sent))
	}
	// At the limit, the request goes out.
	body := make([]byte, abi.MaxOutboundSize-len(abi.AppendOutbound(nil, &abi.Outbound{Method: "POST", URL: url}))-3)
	if _, err := Post(url, "", body); err != nil {
		t.Errorf("a request of %d encoded bytes: %v", abi.MaxOutboundSize, err)
	}
	if len(h.sent) != 1 {
		t.Errorf("the request at the limit was not sent")
	}
}

func TestMalformedResult(t *testing.T) {
	for name, res := range map[string][]byte{
		"empty":        {},
		"bad format":   {9, 200, 1, 0, 0},
		"bad status":   abi.AppendResponse(nil, &abi.Response{Status: 99}),
		"trailing":     append(abi.AppendResponse(nil, &abi.Response{Status: 200}), 0),
		"header value": abi.AppendResponse(nil, &abi.Response{Status: 200, Headers: []abi.Header{{Name: "A", Value: "\n"}}}),
	} {
		installHost(t, func(hostcall.Op, *abi.Outbound) ([]byte, error) { return res, nil })
		resp, err := Get("https://api.example.com/")
		if !only(err, ErrUnavailable) || resp != nil || !strings.Contains(err.Error(), hostcall.ErrDecode) {
			t.Errorf("%s: %v, %v; want a malformed-result %v", name, resp, err, ErrUnavailable)
		}
	}
}

func TestOpOf(t *testing.T) {
	long := strings.Repeat("a", 100) + ".example.com"
	tests := []struct {
		r    Request
		want string
	}{
		{Request{URL: "https://api.example.com/x"}, `httpc: GET "api.example.com"`},
		{Request{Method: "DELETE", URL: "http://user:pw@[::1]:8080/x?y"}, `httpc: DELETE "[::1]:8080"`},
		{Request{Method: "bad method", URL: "https://api.example.com/"}, `httpc: request "api.example.com"`},
		{Request{Method: strings.Repeat("M", 33), URL: "https://a.example/"}, `httpc: request "a.example"`},
		{Request{URL: "api.example.com/path?token=t"}, `httpc: GET`},
		{Request{URL: "mailto:someone@example.com"}, `httpc: GET`},
		{Request{URL: "https://[bad/"}, `httpc: GET`},
		{Request{URL: "https://" + long + "/"}, `httpc: GET "` + long[:64] + `..."`},
		{Request{URL: "https://ex\nample.com/"}, `httpc: GET`},
		{Request{URL: "HTTPS://API.example.com/"}, `httpc: GET "API.example.com"`},
	}
	for _, tt := range tests {
		if got := opOf(&tt.r).String(); got != tt.want {
			t.Errorf("opOf(%q %q) = %q, want %q", tt.r.Method, tt.r.URL, got, tt.want)
		}
	}
}

func TestHeader(t *testing.T) {
	var h Header
	h.Add("Accept", "a")
	h.Add("X-Id", "1")
	h.Add("accept", "b")
	if h.Get("ACCEPT") != "a" || !slices.Equal(h.Values("Accept"), []string{"a", "b"}) || h.Get("missing") != "" || h.Values("missing") != nil {
		t.Errorf("lookups on %v", h)
	}
	h.Set("Accept", "c")
	if want := (Header{{Name: "Accept", Value: "c"}, {Name: "X-Id", Value: "1"}}); !slices.Equal(h, want) {
		t.Errorf("after Set: %v, want %v", h, want)
	}
	h.Set("X-New", "n")
	h.Del("x-id")
	if want := (Header{{Name: "Accept", Value: "c"}, {Name: "X-New", Value: "n"}}); !slices.Equal(h, want) {
		t.Errorf("after Set and Del: %v, want %v", h, want)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(abi.AppendResponse(nil, &abi.Response{Status: 200, Headers: []abi.Header{{Name: "A", Value: "b"}}, Body: []byte("x")}))
	f.Add([]byte{})
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := decode(hostcall.Op{Call: "op"}, b)
		if err != nil {
			if resp != nil || !only(err, ErrUnavailable) {
				t.Fatalf("decode = %v, %v", resp, err)
			}
			return
		}
		again := abi.AppendResponse(nil, &abi.Response{Status: resp.Status, Headers: resp.Header, Body: resp.Body})
		if !bytes.Equal(again, b) {
			t.Fatalf("response % x does not re-encode", b)
		}
	})
}

// FuzzOpOf checks that an error never names more of a URL than its host:
// a marker in the user information, the query and the fragment never
// appears in the op, whatever comes before them.
func FuzzOpOf(f *testing.F) {
	f.Add("GET", "api.example.com:8443", "p")
	f.Add("", "[::1]", "")
	f.Add("POST", "a@b", "c")
	f.Add("PUT", "x/y?z", "#")
	f.Fuzz(func(t *testing.T, method, host, path string) {
		const marker = "PRIVATEMARKER"
		url := "https://u:" + marker + "@" + host + "/" + path + "?q=" + marker + "#" + marker
		op := opOf(&Request{Method: method, URL: url}).String()
		if len(op) > len("httpc: ")+32+1+2+4*67 {
			t.Fatalf("op of %d bytes", len(op))
		}
		if strings.ContainsAny(op, "\r\n\x00") {
			t.Fatalf("op %q holds a control character", op)
		}
		if strings.Contains(host, marker) || strings.Contains(host, "%") || strings.Contains(method, marker) {
			return // the host itself may spell the marker
		}
		if strings.Contains(op, marker) {
			t.Fatalf("op %q names more of %q than its host", op, url)
		}
	})
}
