package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
)

// The fakes below stand in for the registry, the key store, the wasm engine
// and the usage recorder, so that every gateway decision can be observed
// without compiling or running a module.

type fakeFunctions struct {
	mu    sync.Mutex
	fns   map[string]*registry.Function
	blobs map[string][]byte // other blobs (schemas), by digest
}

func (f *fakeFunctions) Get(name string) (*registry.Function, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[name]
	return fn, ok
}

func (f *fakeFunctions) List() []*registry.Function {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Collect(maps.Values(f.fns))
	slices.SortFunc(out, func(a, b *registry.Function) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Blob returns the "module" of a digest: the digest's own bytes, so a test
// can tell that the engine was handed the active version's blob.
func (f *fakeFunctions) Blob(_ context.Context, digest string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.blobs[digest]; ok {
		return b, nil
	}
	return []byte("module " + digest), nil
}

// putBlob stores text under its digest and returns the digest.
func (f *fakeFunctions) putBlob(text []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blobs == nil {
		f.blobs = map[string][]byte{}
	}
	d := registry.Digest(text)
	f.blobs[d] = text
	return d
}

func (f *fakeFunctions) put(fn *registry.Function) {
	f.mu.Lock()
	f.fns[fn.Name] = fn
	f.mu.Unlock()
}

func (f *fakeFunctions) remove(name string) {
	f.mu.Lock()
	delete(f.fns, name)
	f.mu.Unlock()
}

// fakeKeys authenticates the tokens it maps, as identity.Keys does.
type fakeKeys map[string]*identity.Key

func (k fakeKeys) Authenticate(token string) (*identity.Key, error) {
	if token == "" {
		return nil, identity.ErrNoCredential
	}
	key, ok := k[token]
	if !ok {
		return nil, identity.ErrUnknownKey
	}
	return key, nil
}

// fakeEngine records what it is asked to load and run and answers with
// handle (200 "ok" when nil).
type fakeEngine struct {
	loadErr error
	handle  func(ctx context.Context, req *abi.Request) (*runtime.Result, error)

	mu     sync.Mutex
	loads  []string // what fetch returned, per Load
	reqs   []*abi.Request
	limits []runtime.Limits
}

func (e *fakeEngine) Load(ctx context.Context, digest string, fetch func(context.Context) ([]byte, error)) (*runtime.Module, error) {
	if e.loadErr != nil {
		return nil, e.loadErr
	}
	data, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.loads = append(e.loads, string(data))
	e.mu.Unlock()
	return &runtime.Module{Digest: digest, Mode: runtime.Reactor}, nil
}

func (e *fakeEngine) Invoke(ctx context.Context, m *runtime.Module, lim runtime.Limits, req *abi.Request) (*runtime.Result, error) {
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.limits = append(e.limits, lim)
	e.mu.Unlock()
	if e.handle != nil {
		return e.handle(ctx, req)
	}
	return okResult("ok"), nil
}

func (e *fakeEngine) requests() []*abi.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.reqs)
}

func (e *fakeEngine) lastRequest(t *testing.T) *abi.Request {
	t.Helper()
	reqs := e.requests()
	if len(reqs) == 0 {
		t.Fatal("the guest was not invoked")
	}
	return reqs[len(reqs)-1]
}

func okResult(body string, headers ...abi.Header) *runtime.Result {
	return &runtime.Result{Response: &abi.Response{Status: 200, Headers: headers, Body: []byte(body)}}
}

type fakeUsage struct {
	mu    sync.Mutex
	marks []string
}

func (u *fakeUsage) Mark(function string, _ time.Time) {
	u.mu.Lock()
	u.marks = append(u.marks, function)
	u.mu.Unlock()
}

func (u *fakeUsage) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.marks)
}

// Tokens of the fixture's keys.
const (
	tokGood    = "pave_k_good"
	tokOther   = "pave_k_other"
	tokRevoked = "pave_k_revoked"
	tokExpired = "pave_k_expired"
)

// fixture is a gateway over fakes holding these functions:
//
//	hello  GET, POST /hello            api key, max body 16 bytes
//	users  GET /users/{id}/posts/{post} api key
//	files  GET, POST /files/{path...}   public
//	slow   GET /slow                    api key, concurrency 1
type fixture struct {
	g     *Gateway
	fns   *fakeFunctions
	eng   *fakeEngine
	usage *fakeUsage
	logs  *bytes.Buffer
}

const helloMaxBody = 16

func newFixture(t testing.TB) *fixture {
	t.Helper()
	fns := &fakeFunctions{fns: map[string]*registry.Function{}}
	lim := manifest.DefaultLimits()
	hello := lim
	hello.MaxBody = helloMaxBody
	hello.Timeout = 3 * time.Second
	hello.Memory = 8 << 20
	slow := lim
	slow.Concurrency = 1
	fns.put(testFunction("hello", hello, apiKey("GET", "/hello"), apiKey("POST", "/hello")))
	fns.put(testFunction("users", lim, apiKey("GET", "/users/{id}/posts/{post}")))
	fns.put(testFunction("files", lim, public("GET", "/files/{path...}"), public("POST", "/files/{path...}")))
	fns.put(testFunction("slow", slow, apiKey("GET", "/slow")))

	past := time.Now().Add(-time.Minute)
	all := []string{"hello", "users", "files", "slow", "fresh"}
	keys := fakeKeys{
		tokGood:    {Name: "good", Functions: all},
		tokOther:   {Name: "other", Functions: []string{"users"}},
		tokRevoked: {Name: "revoked", Functions: all, RevokedAt: &past},
		tokExpired: {Name: "expired", Functions: all, ExpiresAt: &past},
	}
	f := &fixture{fns: fns, eng: &fakeEngine{}, usage: &fakeUsage{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.g = New(Deps{Functions: fns, Keys: keys, Engine: f.eng, Usage: f.usage, Log: log, Defenses: config.DefaultDefenses()})
	return f
}

func testFunction(name string, lim manifest.Limits, routes ...manifest.Route) *registry.Function {
	return &registry.Function{
		Name:   name,
		Owner:  "team-test",
		Active: 1,
		Versions: []registry.Version{{
			Number: 1,
			Digest: registry.Digest([]byte(name)),
			Mode:   string(runtime.Reactor),
			Routes: routes,
			Limits: lim,
		}},
	}
}

func apiKey(method, path string) manifest.Route {
	return manifest.Route{Method: method, Path: path, Auth: manifest.AuthAPIKey}
}

func public(method, path string) manifest.Route {
	return manifest.Route{Method: method, Path: path, Public: true}
}

// request builds a request to target with token as a bearer key ("" for
// none) and body (nil for none) of a known length.
func request(method, target, token string, body []byte) *http.Request {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.g.ServeHTTP(rec, r)
	return rec
}

var requestIDRE = regexp.MustCompile(`^[a-z2-7]{16}$`)

// errorDetail checks that rec is the one JSON error shape with code and
// returns its detail.
func errorDetail(t testing.TB, rec *httptest.ResponseRecorder, code apierror.Code) apierror.Detail {
	t.Helper()
	detail, err := decodeError(rec.Code, rec.Header(), rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if detail.Code != code {
		t.Fatalf("error code %q (%s), want %q", detail.Code, detail.Message, code)
	}
	return detail
}

// decodeError checks everything every error response must satisfy.
func decodeError(status int, header http.Header, raw []byte) (apierror.Detail, error) {
	id := header.Get("X-Request-Id")
	if !requestIDRE.MatchString(id) {
		return apierror.Detail{}, fmt.Errorf("X-Request-Id %q is not a request id", id)
	}
	for name, want := range map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := header.Values(name); len(got) != 1 || got[0] != want {
			return apierror.Detail{}, fmt.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var body apierror.Body
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return apierror.Detail{}, fmt.Errorf("status %d body %q is not the error shape: %v", status, raw, err)
	}
	if dec.More() {
		return apierror.Detail{}, fmt.Errorf("body %q holds more than one JSON value", raw)
	}
	d := body.Error
	if d.Code == "" || d.Message == "" {
		return d, fmt.Errorf("error %+v lacks a code or a message", d)
	}
	if d.RequestID != id {
		return d, fmt.Errorf("request_id %q differs from X-Request-Id %q", d.RequestID, id)
	}
	if d.Code.Status() != status {
		return d, fmt.Errorf("status %d for code %q, want %d", status, d.Code, d.Code.Status())
	}
	return d, nil
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

// secretCause is a cause that must reach the log and never the client.
const secretCause = "trap at /home/build/secret.go:42"

func TestStatuses(t *testing.T) {
	guestFails := func(err error) func(*fakeEngine) {
		return func(e *fakeEngine) {
			e.handle = func(context.Context, *abi.Request) (*runtime.Result, error) { return &runtime.Result{}, err }
		}
	}
	tests := []struct {
		name    string
		req     func() *http.Request
		engine  func(*fakeEngine)
		status  int
		code    apierror.Code // "" for a success
		msg     string        // a part of the message, if checked
		invoked bool          // whether the guest must have run
	}{
		{name: "ok", req: func() *http.Request { return request("GET", "/hello", tokGood, nil) }, status: 200, invoked: true},
		{name: "public route without a key", req: func() *http.Request { return request("GET", "/files/a", "", nil) }, status: 200, invoked: true},
		{name: "public route with an unknown key", req: func() *http.Request { return request("GET", "/files/a", "nope", nil) }, status: 200, invoked: true},

		{name: "no key", req: func() *http.Request { return request("GET", "/hello", "", nil) }, status: 401, code: apierror.Unauthenticated},
		{name: "unknown key", req: func() *http.Request { return request("GET", "/hello", "pave_k_nope", nil) }, status: 401, code: apierror.Unauthenticated},
		{name: "empty bearer", req: func() *http.Request {
			r := request("GET", "/hello", "", nil)
			r.Header.Set("Authorization", "Bearer ")
			return r
		}, status: 401, code: apierror.Unauthenticated},
		{name: "basic scheme", req: func() *http.Request {
			r := request("GET", "/hello", "", nil)
			r.Header.Set("Authorization", "Basic "+tokGood)
			return r
		}, status: 401, code: apierror.Unauthenticated},
		{name: "key without the scheme", req: func() *http.Request {
			r := request("GET", "/hello", "", nil)
			r.Header.Set("Authorization", tokGood)
			return r
		}, status: 401, code: apierror.Unauthenticated},
		{name: "no key and a body over the limit", req: func() *http.Request {
			return request("POST", "/hello", "", bytes.Repeat([]byte("x"), 1000))
		}, status: 401, code: apierror.Unauthenticated},

		{name: "key for another function", req: func() *http.Request { return request("GET", "/hello", tokOther, nil) }, status: 403, code: apierror.Forbidden, msg: "may not call this function"},
		{name: "revoked key", req: func() *http.Request { return request("GET", "/hello", tokRevoked, nil) }, status: 403, code: apierror.Forbidden, msg: "revoked"},
		{name: "expired key", req: func() *http.Request { return request("GET", "/hello", tokExpired, nil) }, status: 403, code: apierror.Forbidden, msg: "expired"},

		{name: "no route", req: func() *http.Request { return request("GET", "/nope", tokGood, nil) }, status: 404, code: apierror.RouteNotFound},
		{name: "trailing slash", req: func() *http.Request { return request("GET", "/hello/", tokGood, nil) }, status: 404, code: apierror.RouteNotFound},
		{name: "dot segment", req: func() *http.Request { return request("GET", "/files/../hello", "", nil) }, status: 404, code: apierror.RouteNotFound},
		{name: "catch-all needs a segment", req: func() *http.Request { return request("GET", "/files", "", nil) }, status: 404, code: apierror.RouteNotFound},
		{name: "method not allowed", req: func() *http.Request { return request("DELETE", "/hello", tokGood, nil) }, status: 405, code: apierror.MethodNotAllowed},
		{name: "method checked before the key", req: func() *http.Request { return request("DELETE", "/hello", "", nil) }, status: 405, code: apierror.MethodNotAllowed},

		{name: "body at the limit", req: func() *http.Request {
			return request("POST", "/hello", tokGood, bytes.Repeat([]byte("x"), helloMaxBody))
		}, status: 200, invoked: true},
		{name: "content-length over the limit", req: func() *http.Request {
			return request("POST", "/hello", tokGood, bytes.Repeat([]byte("x"), helloMaxBody+1))
		}, status: 413, code: apierror.BodyTooLarge, msg: "16 bytes"},
		{name: "content-length over the limit, body not sent", req: func() *http.Request {
			r := request("POST", "/hello", tokGood, nil)
			r.ContentLength = 1 << 40
			return r
		}, status: 413, code: apierror.BodyTooLarge},
		{name: "chunked body over the limit", req: func() *http.Request {
			r := request("POST", "/hello", tokGood, nil)
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader("0123456789"), strings.NewReader("0123456789")))
			r.ContentLength = -1
			r.TransferEncoding = []string{"chunked"}
			return r
		}, status: 413, code: apierror.BodyTooLarge},
		{name: "content-length understating the body", req: func() *http.Request {
			r := request("POST", "/hello", tokGood, bytes.Repeat([]byte("x"), 100))
			r.ContentLength = 1
			return r
		}, status: 413, code: apierror.BodyTooLarge},
		{name: "unreadable body", req: func() *http.Request {
			r := request("POST", "/hello", tokGood, nil)
			r.Body = io.NopCloser(errReader{})
			r.ContentLength = -1
			return r
		}, status: 400, code: apierror.BadRequest},
		{name: "more headers than the ABI carries", req: func() *http.Request {
			r := request("GET", "/hello", tokGood, nil)
			for i := range abi.MaxHeaders + 1 {
				r.Header.Set(fmt.Sprintf("X-H%d", i), "v")
			}
			return r
		}, status: 400, code: apierror.BadRequest},

		{name: "guest timeout", engine: guestFails(&runtime.GuestError{Failure: runtime.FailTimeout, Cause: errors.New(secretCause)}),
			status: 504, code: apierror.FunctionTimeout, invoked: true},
		{name: "guest out of memory", engine: guestFails(&runtime.GuestError{Failure: runtime.FailOutOfMemory, Cause: errors.New(secretCause)}),
			status: 502, code: apierror.FunctionOutOfMem, invoked: true},
		{name: "guest trap", engine: guestFails(&runtime.GuestError{Failure: runtime.FailTrap, Cause: errors.New(secretCause)}),
			status: 502, code: apierror.FunctionFailed, invoked: true},
		{name: "guest error", engine: guestFails(&runtime.GuestError{Failure: runtime.FailGuestError, Cause: errors.New(secretCause)}),
			status: 502, code: apierror.FunctionFailed, invoked: true},
		{name: "guest bad response", engine: guestFails(&runtime.GuestError{Failure: runtime.FailBadResponse, Cause: errors.New(secretCause)}),
			status: 502, code: apierror.FunctionFailed, invoked: true},
		{name: "unknown guest failure", engine: guestFails(&runtime.GuestError{Failure: "new-kind", Cause: errors.New(secretCause)}),
			status: 502, code: apierror.FunctionFailed, invoked: true},
		{name: "caller went away", engine: guestFails(&runtime.GuestError{Failure: runtime.FailCanceled, Cause: errors.New(secretCause)}),
			status: 503, code: apierror.Unavailable, invoked: true},
		{name: "wrapped guest error", engine: guestFails(fmt.Errorf("invoke: %w", &runtime.GuestError{Failure: runtime.FailTimeout, Cause: errors.New(secretCause)})),
			status: 504, code: apierror.FunctionTimeout, invoked: true},
		{name: "engine error", engine: guestFails(errors.New(secretCause)),
			status: 500, code: apierror.Internal, msg: "internal error", invoked: true},
		{name: "load fails", engine: func(e *fakeEngine) { e.loadErr = errors.New(secretCause) },
			status: 503, code: apierror.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.engine != nil {
				tt.engine(f.eng)
			}
			if tt.req == nil {
				tt.req = func() *http.Request { return request("GET", "/hello", tokGood, nil) }
			}
			rec := f.serve(tt.req())
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body.Bytes())
			}
			id := rec.Header().Get("X-Request-Id")
			if !requestIDRE.MatchString(id) {
				t.Fatalf("X-Request-Id %q", id)
			}
			if ran := len(f.eng.requests()) > 0; ran != tt.invoked {
				t.Fatalf("guest invoked = %v, want %v", ran, tt.invoked)
			}
			if marked := f.usage.count() > 0; marked != tt.invoked {
				t.Errorf("usage marked = %v, want %v", marked, tt.invoked)
			}
			logLine := invocationLog(t, f.logs, id)
			if int(logLine["status"].(float64)) != tt.status {
				t.Errorf("log line status %v, want %d", logLine["status"], tt.status)
			}
			if tt.code == "" {
				if logLine["outcome"] != "ok" {
					t.Errorf("log outcome %v, want ok", logLine["outcome"])
				}
				return
			}
			d := errorDetail(t, rec, tt.code)
			if !strings.Contains(d.Message, tt.msg) {
				t.Errorf("message %q does not mention %q", d.Message, tt.msg)
			}
			if strings.Contains(rec.Body.String(), "secret.go") || strings.Contains(rec.Body.String(), tokGood) {
				t.Errorf("the error body leaks a cause or a credential: %s", rec.Body.Bytes())
			}
			if logLine["outcome"] != string(tt.code) {
				t.Errorf("log outcome %v, want %s", logLine["outcome"], tt.code)
			}
			if tt.engine != nil && !strings.Contains(fmt.Sprint(logLine["cause"]), secretCause) {
				t.Errorf("the cause is not logged: %v", logLine)
			}
			if rec.Header().Get("Retry-After") != "" {
				t.Errorf("Retry-After %q on a %d", rec.Header().Get("Retry-After"), rec.Code)
			}
		})
	}
}

// invocationLog returns the one invocation log line of request id.
func invocationLog(t *testing.T, logs *bytes.Buffer, id string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "invocation" && rec["request_id"] == id {
			found = append(found, rec)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d invocation log lines for %s in\n%s", len(found), id, logs)
	}
	return found[0]
}

func TestConcurrencyLimit(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	f.eng.handle = func(_ context.Context, req *abi.Request) (*runtime.Result, error) {
		if req.Route == "/slow" {
			entered <- struct{}{}
			<-release
		}
		return okResult("ok"), nil
	}

	first := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.g.ServeHTTP(first, request("GET", "/slow", tokGood, nil))
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first call never reached the guest")
	}

	// The one slot is taken: the next call is refused without running.
	rec := f.serve(request("GET", "/slow", tokGood, nil))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second call: %d %s, want 429", rec.Code, rec.Body.Bytes())
	}
	errorDetail(t, rec, apierror.ConcurrencyLimited)
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if n := len(f.eng.requests()); n != 1 {
		t.Errorf("the guest ran %d times, want 1", n)
	}
	// Limits are per function.
	if rec := f.serve(request("GET", "/hello", tokGood, nil)); rec.Code != 200 {
		t.Errorf("another function: %d, want 200", rec.Code)
	}

	close(release)
	<-done
	if first.Code != 200 {
		t.Fatalf("first call: %d %s", first.Code, first.Body.Bytes())
	}
	// The slot is free again.
	go func() { <-entered }()
	if rec := f.serve(request("GET", "/slow", tokGood, nil)); rec.Code != 200 {
		t.Fatalf("after release: %d %s, want 200", rec.Code, rec.Body.Bytes())
	}
}

func TestConcurrencySlotReleasedOnFailure(t *testing.T) {
	f := newFixture(t)
	f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
		return nil, &runtime.GuestError{Failure: runtime.FailTrap}
	}
	for i := range 3 {
		if rec := f.serve(request("GET", "/slow", tokGood, nil)); rec.Code != 502 {
			t.Fatalf("call %d: %d, want 502 (a failed call must free its slot)", i, rec.Code)
		}
	}
	f.eng.loadErr = errors.New("no module")
	for i := range 3 {
		if rec := f.serve(request("GET", "/slow", tokGood, nil)); rec.Code != 503 {
			t.Fatalf("load failure %d: %d, want 503", i, rec.Code)
		}
	}
}

// headerMap flattens guest headers into name → values.
func headerMap(hs []abi.Header) map[string][]string {
	m := map[string][]string{}
	for _, h := range hs {
		m[h.Name] = append(m[h.Name], h.Value)
	}
	return m
}

func TestGuestRequestHeaders(t *testing.T) {
	hopByHopNames := []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	tests := []struct {
		name     string
		target   string
		token    string
		wantAuth bool
	}{
		{"api-key route", "/hello", tokGood, false},
		// A pave credential never reaches a function, public route or not.
		{"public route, pave key", "/files/x", tokGood, false},
		// Any other Authorization on a public route is the function's.
		{"public route, other token", "/files/x", "their-own-token", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := request("GET", tt.target, tt.token, nil)
			for _, h := range hopByHopNames {
				r.Header.Set(h, "hop-"+h)
			}
			r.Header.Add("X-Multi", "one")
			r.Header.Add("X-Multi", "two")
			r.Header.Set("Cookie", "session=abc")
			if rec := f.serve(r); rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
			}
			got := headerMap(f.eng.lastRequest(t).Headers)
			if !slices.Equal(got["X-Multi"], []string{"one", "two"}) || !slices.Equal(got["Cookie"], []string{"session=abc"}) {
				t.Errorf("end-to-end headers not passed on: %v", got)
			}
			for _, h := range hopByHopNames {
				if _, ok := got[h]; ok {
					t.Errorf("hop-by-hop header %s reached the guest", h)
				}
			}
			auth, ok := got["Authorization"]
			if ok != tt.wantAuth {
				t.Fatalf("Authorization reached the guest = %v, want %v (headers %v)", ok, tt.wantAuth, got)
			}
			if ok && !slices.Equal(auth, []string{"Bearer " + tt.token}) {
				t.Errorf("Authorization = %q", auth)
			}
			for name, values := range got {
				for _, v := range values {
					if !tt.wantAuth && strings.Contains(v, tokGood) {
						t.Errorf("the API key reached the guest in %s", name)
					}
				}
			}
		})
	}
}

func TestGuestRequest(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		token  string
		body   string
		want   abi.Request // RequestID is checked against X-Request-Id
	}{
		{
			name: "parameters decoded", method: "GET", target: "/users/a%20b%2Fc/posts/%E2%9C%93?x=1&y=%2F", token: tokGood,
			want: abi.Request{Method: "GET", Path: "/users/a b/c/posts/✓", Route: "/users/{id}/posts/{post}",
				Params:   []abi.Param{{Name: "id", Value: "a b/c"}, {Name: "post", Value: "✓"}},
				RawQuery: "x=1&y=%2F", Caller: "key:good", Body: []byte{}},
		},
		{
			name: "catch-all", method: "POST", target: "/files/dir/sub%20dir/f.txt", body: "payload",
			want: abi.Request{Method: "POST", Path: "/files/dir/sub dir/f.txt", Route: "/files/{path...}",
				Params: []abi.Param{{Name: "path", Value: "dir/sub dir/f.txt"}}, Body: []byte("payload")},
		},
		{
			name: "no parameters", method: "POST", target: "/hello", token: tokGood, body: "0123456789abcdef",
			want: abi.Request{Method: "POST", Path: "/hello", Route: "/hello", Caller: "key:good", Body: []byte("0123456789abcdef")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.serve(request(tt.method, tt.target, tt.token, []byte(tt.body)))
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
			}
			got := f.eng.lastRequest(t)
			if got.RequestID != rec.Header().Get("X-Request-Id") {
				t.Errorf("guest RequestID %q, X-Request-Id %q", got.RequestID, rec.Header().Get("X-Request-Id"))
			}
			if got.Method != tt.want.Method || got.Path != tt.want.Path || got.Route != tt.want.Route ||
				got.RawQuery != tt.want.RawQuery || got.Caller != tt.want.Caller || !bytes.Equal(got.Body, tt.want.Body) {
				t.Errorf("guest request\n got %+v\nwant %+v", got, tt.want)
			}
			if !slices.Equal(got.Params, tt.want.Params) {
				t.Errorf("params %q, want %q", got.Params, tt.want.Params)
			}
		})
	}
}

func TestLimitsAndModule(t *testing.T) {
	f := newFixture(t)
	if rec := f.serve(request("GET", "/hello", tokGood, nil)); rec.Code != 200 {
		t.Fatalf("%d", rec.Code)
	}
	f.eng.mu.Lock()
	lim, loads := f.eng.limits, f.eng.loads
	f.eng.mu.Unlock()
	if want := (runtime.Limits{Timeout: 3 * time.Second, Memory: 8 << 20, Concurrency: manifest.DefaultConcurrency}); len(lim) != 1 || lim[0] != want {
		t.Errorf("limits %+v, want %+v", lim, want)
	}
	if want := "module " + registry.Digest([]byte("hello")); len(loads) != 1 || loads[0] != want {
		t.Errorf("loaded %q, want %q", loads, want)
	}
	f.usage.mu.Lock()
	defer f.usage.mu.Unlock()
	if !slices.Equal(f.usage.marks, []string{"hello"}) {
		t.Errorf("usage marks %q", f.usage.marks)
	}
}

func TestResponseHeaders(t *testing.T) {
	owned := []abi.Header{
		{Name: "Content-Length", Value: "999"},
		{Name: "content-length", Value: "998"},
		{Name: "X-Request-Id", Value: "forged"},
		{Name: "x-request-id", Value: "forged2"},
		{Name: "Server", Value: "forged"},
		{Name: "Date", Value: "Thu, 01 Jan 1970 00:00:00 GMT"},
		{Name: "Connection", Value: "close"},
		{Name: "keep-alive", Value: "timeout=5"},
		{Name: "Transfer-Encoding", Value: "chunked"},
		{Name: "Upgrade", Value: "websocket"},
		{Name: "Trailer", Value: "X-T"},
		{Name: "Te", Value: "trailers"},
		{Name: "Proxy-Authenticate", Value: "Basic"},
		{Name: "Proxy-Authorization", Value: "Basic x"},
	}
	tests := []struct {
		name      string
		headers   []abi.Header
		wantNoSn  []string // X-Content-Type-Options
		wantExtra map[string][]string
	}{
		{
			name:      "owned and hop-by-hop dropped",
			headers:   append(slices.Clone(owned), abi.Header{Name: "content-type", Value: "text/plain"}, abi.Header{Name: "Set-Cookie", Value: "a=1"}, abi.Header{Name: "Set-Cookie", Value: "b=2"}),
			wantNoSn:  []string{"nosniff"},
			wantExtra: map[string][]string{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}},
		},
		{
			name:     "nothing set",
			wantNoSn: []string{"nosniff"},
		},
		{
			name:     "the guest's X-Content-Type-Options kept",
			headers:  []abi.Header{{Name: "x-content-type-options", Value: "custom"}},
			wantNoSn: []string{"custom"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
				return &runtime.Result{Response: &abi.Response{Status: 201, Headers: tt.headers, Body: []byte("created")}}, nil
			}
			rec := f.serve(request("GET", "/hello", tokGood, nil))
			if rec.Code != 201 || rec.Body.String() != "created" {
				t.Fatalf("%d %q, want the guest's 201 created", rec.Code, rec.Body.Bytes())
			}
			h := rec.Header()
			if got := h.Values("Content-Length"); !slices.Equal(got, []string{"7"}) {
				t.Errorf("Content-Length %q, want [7]", got)
			}
			if got := h.Values("X-Request-Id"); len(got) != 1 || !requestIDRE.MatchString(got[0]) {
				t.Errorf("X-Request-Id %q, want the gateway's one", got)
			}
			for _, hd := range owned {
				name := http.CanonicalHeaderKey(hd.Name)
				if name == "Content-Length" || name == "X-Request-Id" {
					continue
				}
				if v, ok := h[name]; ok {
					t.Errorf("%s = %q copied from the guest", name, v)
				}
			}
			if got := h.Values("X-Content-Type-Options"); !slices.Equal(got, tt.wantNoSn) {
				t.Errorf("X-Content-Type-Options %q, want %q", got, tt.wantNoSn)
			}
			for name, want := range tt.wantExtra {
				if got := h.Values(name); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	fresh := testFunction("fresh", manifest.DefaultLimits(), apiKey("GET", "/fresh"))

	f.fns.put(fresh)
	if rec := f.serve(request("GET", "/fresh", tokGood, nil)); rec.Code != 404 {
		t.Fatalf("before Reload: %d, want 404", rec.Code)
	}
	f.g.Reload()
	if rec := f.serve(request("GET", "/fresh", tokGood, nil)); rec.Code != 200 {
		t.Fatalf("after Reload: %d %s, want 200", rec.Code, rec.Body.Bytes())
	}
	if got := f.eng.lastRequest(t).Route; got != "/fresh" {
		t.Fatalf("ran route %q", got)
	}

	// Removed but not reloaded: the route is still there, the function
	// is not.
	f.fns.remove("hello")
	rec := f.serve(request("GET", "/hello", tokGood, nil))
	errorDetail(t, rec, apierror.FunctionNotFound)
	f.g.Reload()
	rec = f.serve(request("GET", "/hello", tokGood, nil))
	errorDetail(t, rec, apierror.RouteNotFound)
	if rec := f.serve(request("GET", "/fresh", tokGood, nil)); rec.Code != 200 {
		t.Fatalf("an unrelated function after Reload: %d", rec.Code)
	}

	// A redeploy that moves a route: the old path goes, the new one comes.
	moved := testFunction("fresh", manifest.DefaultLimits(), apiKey("PUT", "/fresh/{id}"))
	moved.Versions = append([]registry.Version{fresh.Versions[0]}, moved.Versions[0])
	moved.Versions[1].Number, moved.Active = 2, 2
	f.fns.put(moved)
	f.g.Reload()
	errorDetail(t, f.serve(request("GET", "/fresh", tokGood, nil)), apierror.RouteNotFound)
	if rec := f.serve(request("PUT", "/fresh/7", tokGood, nil)); rec.Code != 200 {
		t.Fatalf("moved route: %d %s", rec.Code, rec.Body.Bytes())
	}
}

func TestCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, err := f.g.Call(ctx, "hello", &abi.Request{Method: "GET", Path: "/hello", RequestID: "admin-1", Caller: "admin"})
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" {
		t.Fatalf("Call = %+v, %v", resp, err)
	}
	tests := []struct {
		name string
		fn   string
		body []byte
		want apierror.Code
	}{
		{"unknown function", "nope", nil, apierror.FunctionNotFound},
		{"body over the limit", "hello", bytes.Repeat([]byte("x"), helloMaxBody+1), apierror.BodyTooLarge},
	}
	for _, tt := range tests {
		if _, err := f.g.Call(ctx, tt.fn, &abi.Request{Method: "POST", Body: tt.body}); apierror.CodeOf(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if n := len(f.eng.requests()); n != 1 {
		t.Errorf("the guest ran %d times, want 1", n)
	}
}

// TestCallRoutes checks that an operator's call runs the route the router
// matches for its method and path, as a request through the gateway would.
func TestCallRoutes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, fn, method, path string
		wantMethod, wantPath   string
		wantRoute              string
		wantParams             []abi.Param
		wantCode               apierror.Code
	}{
		{name: "the first route by default", fn: "hello", wantMethod: "GET", wantPath: "/hello", wantRoute: "/hello"},
		{name: "a method of the path", fn: "hello", method: "POST", wantMethod: "POST", wantPath: "/hello", wantRoute: "/hello"},
		{name: "parameters", fn: "users", path: "/users/7/posts/x%20y", wantMethod: "GET", wantPath: "/users/7/posts/x y",
			wantRoute: "/users/{id}/posts/{post}", wantParams: []abi.Param{{Name: "id", Value: "7"}, {Name: "post", Value: "x y"}}},
		{name: "a catch-all", fn: "files", method: "POST", path: "/files/a/b", wantMethod: "POST", wantPath: "/files/a/b",
			wantRoute: "/files/{path...}", wantParams: []abi.Param{{Name: "path", Value: "a/b"}}},
		{name: "no such path", fn: "users", path: "/users/7", wantCode: apierror.RouteNotFound},
		{name: "no such method", fn: "users", method: "DELETE", path: "/users/7/posts/1", wantCode: apierror.MethodNotAllowed},
		{name: "another function's route", fn: "users", path: "/hello", wantCode: apierror.RouteNotFound},
		{name: "a path that is not canonical", fn: "files", path: "/files/a/../b", wantCode: apierror.RouteNotFound},
		{name: "an invalid method", fn: "hello", method: "G T", wantCode: apierror.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.eng.requests())
			_, err := f.g.Call(ctx, tt.fn, &abi.Request{Method: tt.method, Path: tt.path, Caller: "admin"})
			if tt.wantCode != "" {
				if apierror.CodeOf(err) != tt.wantCode {
					t.Fatalf("err %v, want %s", err, tt.wantCode)
				}
				if len(f.eng.requests()) != before {
					t.Fatal("a refused call ran the guest")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := f.eng.lastRequest(t)
			if got.Method != tt.wantMethod || got.Path != tt.wantPath || got.Route != tt.wantRoute || !slices.Equal(got.Params, tt.wantParams) {
				t.Errorf("guest got %s %s route %s params %v, want %s %s route %s params %v",
					got.Method, got.Path, got.Route, got.Params, tt.wantMethod, tt.wantPath, tt.wantRoute, tt.wantParams)
			}
		})
	}
}

// TestOverHTTP runs the gateway behind a real server: a client's chunked
// upload over the limit is refused, and what the client gets is what the
// recorder tests promise.
func TestOverHTTP(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.g)
	defer srv.Close()

	tests := []struct {
		name   string
		body   io.Reader
		status int
	}{
		// An io.MultiReader has no known length: the client sends chunks.
		{"chunked over the limit", io.MultiReader(strings.NewReader(strings.Repeat("x", helloMaxBody)), strings.NewReader("y")), 413},
		{"chunked at the limit", io.MultiReader(strings.NewReader(strings.Repeat("x", helloMaxBody))), 200},
		{"content-length over the limit", strings.NewReader(strings.Repeat("x", 4*helloMaxBody)), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", srv.URL+"/hello", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tokGood)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 200 {
				return
			}
			d, err := decodeError(resp.StatusCode, resp.Header, body)
			if err != nil {
				t.Fatal(err)
			}
			if d.Code != apierror.BodyTooLarge {
				t.Fatalf("code %q, want %q", d.Code, apierror.BodyTooLarge)
			}
		})
	}
}

// countingReader yields n bytes and counts what was read.
type countingReader struct {
	n, read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	k := min(len(p), c.n-c.read)
	for i := range k {
		p[i] = 'x'
	}
	c.read += k
	return k, nil
}

// TestBodyReadStopsAtLimit sends a body of unknown length far over the
// limit: the gateway must stop reading one byte past the limit rather than
// buffer the whole upload and refuse it afterwards.
func TestBodyReadStopsAtLimit(t *testing.T) {
	f := newFixture(t)
	body := &countingReader{n: 8 << 20}
	r := request("POST", "/hello", tokGood, nil)
	r.Body = io.NopCloser(body)
	r.ContentLength = -1
	errorDetail(t, f.serve(r), apierror.BodyTooLarge)
	if body.read > helloMaxBody+1 {
		t.Fatalf("read %d bytes of the body, want at most the limit + 1 (%d)", body.read, helloMaxBody+1)
	}
}

// TestGuestInformationalStatus: the ABI lets a guest answer with any status
// from 100 to 599, but a 1xx cannot be a final HTTP response. Written as it
// is, 100/103 would go out as interim responses followed by an implicit 200
// the guest never chose, and 101 would announce a protocol switch that never
// happens; the client must get a function failure instead.
func TestGuestInformationalStatus(t *testing.T) {
	for _, status := range []int{100, 101, 103, 199} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFixture(t)
			f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
				return &runtime.Result{Response: &abi.Response{Status: status, Body: []byte("body")}}, nil
			}
			srv := httptest.NewServer(f.g)
			defer srv.Close()
			req, err := http.NewRequest("GET", srv.URL+"/hello", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tokGood)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			d, err := decodeError(resp.StatusCode, resp.Header, body)
			if err != nil {
				t.Fatalf("guest status %d reached the client as %d %q: %v", status, resp.StatusCode, body, err)
			}
			if d.Code != apierror.FunctionFailed {
				t.Fatalf("code %q, want %q", d.Code, apierror.FunctionFailed)
			}
		})
	}
}

// fuzzSources is the text of the gateway and of apierror: an error message
// may contain a fuzzed value by coincidence when the value is a piece of
// the fixed text these files hold.
func fuzzSources(t testing.TB) string {
	var b strings.Builder
	for _, p := range []string{"gateway.go", "router.go", "../apierror/apierror.go", "../apierror/write.go"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// FuzzGatewayRequest serves arbitrary requests, built by hand so that values
// httptest.NewRequest refuses reach the gateway too.
func FuzzGatewayRequest(f *testing.F) {
	seeds := []struct {
		method, path, hname, hvalue string
		body                        []byte
		withKey, chunked            bool
	}{
		{"GET", "/hello", "X-Test", "value", nil, true, false},
		{"GET", "/hello", "Authorization", "Bearer " + tokGood, nil, false, false},
		{"GET", "/hello", "Authorization", "Bearer pave_k_guessed-token", nil, false, false},
		{"POST", "/hello", "Content-Type", "text/plain", []byte("0123456789abcdefg"), true, true},
		{"POST", "/hello", "X-Long", strings.Repeat("reflect-me ", 4), []byte("body"), false, false},
		{"GET", "/users/%E2%9C%93/posts/%2F", "Connection", "X-Secret-Header", nil, true, false},
		{"GET", "/users/%zz/posts/1", "X", "y", nil, true, false},
		{"GET", "/files/../hello", "", "", nil, false, false},
		{"GET", "/files/a/b?x=%00", "Cookie", "session=0123456789", nil, false, false},
		{"POST", "/files/%2e%2e/etc", "Transfer-Encoding", "chunked", []byte("x"), false, true},
		{"DELETE", "/hello", "X-Evil", "<script>alert(1)</script>", nil, false, false},
		{"", "", "", "", nil, false, false},
		{"GET", "hello", "\x00", "\r\n\r\nHTTP/1.1 200 OK", nil, true, false},
		{"G\x00T", "//hello", "Authorization", "Bearer " + tokRevoked, nil, false, false},
		{"GET", "/slow", "authorization", "Bearer " + tokGood, nil, false, false},
		{"GET", "/files/a", "Authorization", "Bearer " + tokGood, nil, false, false},
		{"GET", "/files/a", "Authorization", "bearer  pave_a_admintoken ", nil, false, false},
		{"POST", "/files/a/b", "Authorization", "Bearer their-own-token", []byte("x"), true, false},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.hname, s.hvalue, s.body, s.withKey, s.chunked)
	}
	sources := fuzzSources(f)
	hopByHopNames := slices.Collect(maps.Keys(hopByHop))

	f.Fuzz(func(t *testing.T, method, rawPath, hname, hvalue string, body []byte, withKey, chunked bool) {
		fx := newFixture(t)
		u := &url.URL{Path: rawPath}
		if p, q, ok := strings.Cut(rawPath, "?"); ok {
			u.Path, u.RawQuery = p, q
		}
		if dec, err := url.PathUnescape(u.Path); err == nil {
			u.Path, u.RawPath = dec, u.Path
		}
		h := http.Header{}
		if withKey {
			h.Set("Authorization", "Bearer "+tokGood)
		}
		h[hname] = append(h[hname], hvalue)
		cl := int64(len(body))
		if chunked {
			cl = -1
		}
		r := &http.Request{
			Method:        method,
			URL:           u,
			Header:        h,
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: cl,
			Host:          "gateway.test",
			RemoteAddr:    "192.0.2.1:1234",
		}
		rec := httptest.NewRecorder()
		fx.g.ServeHTTP(rec, r)

		id := rec.Header().Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			t.Fatalf("X-Request-Id %q", id)
		}
		if rec.Code < 200 || rec.Code > 299 {
			d, err := decodeError(rec.Code, rec.Header(), rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(hvalue) >= 8 && reflects(rec.Body.String(), d, hvalue) &&
				!strings.Contains(method, hvalue) && // the method is named in 404 and 405 messages
				!strings.Contains(id, hvalue) && !strings.Contains(sources, hvalue) {
				t.Fatalf("the error %s repeats the header value %q", rec.Body.Bytes(), hvalue)
			}
		}

		reqs := fx.eng.requests()
		if len(reqs) == 0 {
			return
		}
		if len(reqs) != 1 {
			t.Fatalf("one request ran the guest %d times", len(reqs))
		}
		got := reqs[0]
		if rec.Code != 200 || rec.Body.String() != "ok" {
			t.Fatalf("the guest answered 200 ok, the client got %d %q", rec.Code, rec.Body.Bytes())
		}
		var fn *registry.Function
		var route *manifest.Route
		for _, cand := range fx.fns.List() {
			for i, rt := range cand.Current().Routes {
				if rt.Path == got.Route && rt.Method == method {
					fn, route = cand, &cand.Current().Routes[i]
				}
			}
		}
		if route == nil {
			t.Fatalf("the guest ran for %s %s, which no function serves", method, got.Route)
		}
		if int64(len(got.Body)) > fn.Current().Limits.MaxBody || !bytes.Equal(got.Body, body) {
			t.Fatalf("the guest got a body of %d bytes, the client sent %d (limit %d)", len(got.Body), len(body), fn.Current().Limits.MaxBody)
		}
		if !route.Public {
			if identity.BearerToken(h.Get("Authorization")) != tokGood {
				t.Fatalf("a key route ran without the good key (Authorization %q)", h.Values("Authorization"))
			}
			if got.Caller != "key:good" {
				t.Fatalf("caller %q", got.Caller)
			}
		}
		// Names are compared as net/http delivers them, canonical: a
		// server never hands a handler "authorization" or "connection".
		for _, gh := range got.Headers {
			if slices.Contains(hopByHopNames, gh.Name) {
				t.Fatalf("hop-by-hop header %s reached the guest", gh.Name)
			}
			if !route.Public && gh.Name == "Authorization" {
				t.Fatalf("the API key reached the guest of a key route")
			}
			if gh.Name == "Authorization" && identity.ContainsCredential(gh.Value) {
				t.Fatalf("a pave credential reached the guest: %q", gh.Value)
			}
		}
	})
}

// reflects reports whether the error body or its decoded message contains v.
// The raw body is only searched for values without JSON punctuation, which
// could otherwise match across the fixed structure of the body.
func reflects(raw string, d apierror.Detail, v string) bool {
	if strings.Contains(d.Message, v) || strings.Contains(string(d.Code), v) {
		return true
	}
	return !strings.ContainsAny(v, `"{}:,\`) && strings.Contains(raw, v)
}

// TestUnloadedBetweenLoadAndInvoke: a module unloaded to make room after
// Load returned it is loaded again once, and the call succeeds; a second
// refusal is a failure, not a loop.
func TestUnloadedBetweenLoadAndInvoke(t *testing.T) {
	for _, refusals := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d refusals", refusals), func(t *testing.T) {
			f := newFixture(t)
			var calls atomic.Int32
			f.eng.handle = func(context.Context, *abi.Request) (*runtime.Result, error) {
				if int(calls.Add(1)) <= refusals {
					return &runtime.Result{}, runtime.ErrUnloaded
				}
				return okResult("ok"), nil
			}
			rec := httptest.NewRecorder()
			f.g.ServeHTTP(rec, request("GET", "/hello", tokGood, nil))
			want := 200
			if refusals > 1 {
				want = 503
			}
			if rec.Code != want || calls.Load() != 2 {
				t.Fatalf("status %d after %d invocations, want %d after 2: %s", rec.Code, calls.Load(), want, rec.Body.Bytes())
			}
			f.eng.mu.Lock()
			loads := len(f.eng.loads)
			f.eng.mu.Unlock()
			if loads != 2 {
				t.Fatalf("%d loads, want 2 (the second after the refusal)", loads)
			}
		})
	}
}
