package main

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/events"
)

//go:embed prelude.js
var prelude string

// bundleName is the file name the bundle's stack traces carry.
const bundleName = "bundle.js"

// maxCallStack bounds JavaScript recursion: past it the invocation fails
// (goja's stack overflow cannot be caught by the script), instead of
// growing the Go heap until the function runs out of memory.
const maxCallStack = 10000

// engine is the evaluated bundle: the VM, the default export's fetch and
// the env object passed to it.
type engine struct {
	vm     *goja.Runtime
	native *goja.Object
	this   goja.Value // the default export
	fetch  goja.Callable
	env    goja.Value

	makeRequest  goja.Callable
	takeResponse goja.Callable
	outbound     goja.Callable
	inbound      goja.Callable

	timers timers // timers.go
}

// capabilities add the granted capabilities to env, or to the global
// object (fetch); each file built under a capability's tag appends to it
// when its package variables are initialised, before any init function
// runs.
var capabilities []func(e *engine, env *goja.Object)

// ungranted are the names each capability group defines, on env or, for
// fetch, globally: a group not compiled in leaves them throwing (kv) or
// rejecting (the others) with a TypeError that names the missing grant.
var ungranted = []struct {
	name, group string
	global      bool // defined on the global object, not on env
	promise     bool // returns a promise, so rejects rather than throws
}{
	{"kv", "kv", false, false},
	{"secret", "secrets", false, true},
	{"invoke", "invoke", false, true},
	{"publish", "publish", false, true},
	{"fetch", "http", true, true},
}

// newEngine evaluates the prelude and then bundle, and finds the default
// export's fetch method.
func newEngine(bundle string) (*engine, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	e := &engine{vm: vm, native: vm.NewObject()}
	n := e.native
	// The functions every call uses take their arguments as goja gives
	// them: goja's reflection-based wrapping of a typed Go function costs
	// about ten times as much per call.
	must(n.Set("log", e.log))
	must(n.Set("encode", func(c goja.FunctionCall) goja.Value { return vm.ToValue(e.encode(c.Argument(0))) }))
	must(n.Set("decode", func(c goja.FunctionCall) goja.Value {
		b, ok := c.Argument(0).Export().(goja.ArrayBuffer)
		if !ok {
			panic(vm.NewTypeError("TextDecoder: not an ArrayBuffer"))
		}
		return vm.ToValue(e.decode(b, c.Argument(1).ToBoolean()))
	}))
	must(n.Set("percentDecode", percentDecode))
	must(n.Set("headerName", func(c goja.FunctionCall) goja.Value { return vm.ToValue(headerName(c.Argument(0).String())) }))
	must(n.Set("randomFill", randomFill))
	must(n.Set("randomUUID", randomUUID))
	must(n.Set("base64", func(b goja.ArrayBuffer) string { return base64.StdEncoding.EncodeToString(b.Bytes()) }))
	must(n.Set("unbase64", e.unbase64))
	must(n.Set("headerValue", func(c goja.FunctionCall) goja.Value { return vm.ToValue(headerValue(c.Argument(0).String())) }))
	must(n.Set("parseURL", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(e.parseURL(c.Argument(0).String(), c.Argument(1)))
	}))
	e.defineTimers()
	e.defineSubtle(n)
	e.defineSubtleKeys(n)
	must(vm.Set("__pave_native", n))
	if _, err := vm.RunScript("pave:prelude.js", prelude); err != nil {
		return nil, fmt.Errorf("prelude: %w", err)
	}
	must(vm.GlobalObject().Delete("__pave_native"))
	var ok bool
	if e.makeRequest, ok = goja.AssertFunction(n.Get("makeRequest")); !ok {
		return nil, errors.New("prelude: no makeRequest")
	}
	if e.takeResponse, ok = goja.AssertFunction(n.Get("takeResponse")); !ok {
		return nil, errors.New("prelude: no takeResponse")
	}
	if e.outbound, ok = goja.AssertFunction(n.Get("outbound")); !ok {
		return nil, errors.New("prelude: no outbound")
	}
	if e.inbound, ok = goja.AssertFunction(n.Get("inbound")); !ok {
		return nil, errors.New("prelude: no inbound")
	}

	env := vm.NewObject()
	for _, add := range capabilities {
		add(e, env)
	}
	for _, u := range ungranted {
		obj, what := env, "env."+u.name
		if u.global {
			obj, what = vm.GlobalObject(), u.name
		}
		if obj.Get(u.name) != nil {
			continue
		}
		msg := fmt.Sprintf("%s: the manifest grants no %s capability", what, u.group)
		fn := func(goja.FunctionCall) goja.Value { panic(vm.NewTypeError(msg)) }
		if u.promise {
			fn = func(goja.FunctionCall) goja.Value {
				return e.settle(func() (goja.Value, error) { return nil, e.thrown(vm.NewTypeError(msg)) })
			}
		}
		if u.global {
			e.defineGlobal(u.name, fn)
		} else {
			must(env.Set(u.name, fn))
		}
	}
	e.env = env

	prog, err := goja.Compile(bundleName, bundle, false)
	if err != nil {
		return nil, err
	}
	if _, err := vm.RunProgram(prog); err != nil {
		return nil, describe(err)
	}
	mod := vm.Get(bundleGlobal)
	if mod == nil || goja.IsUndefined(mod) || goja.IsNull(mod) {
		return nil, fmt.Errorf("the bundle does not define %s; build it with pave build", bundleGlobal)
	}
	def := mod.ToObject(vm).Get("default")
	if def == nil || goja.IsUndefined(def) || goja.IsNull(def) {
		return nil, errors.New("the entry point has no default export; export default { fetch(request, env) { ... } }")
	}
	obj, isObj := def.(*goja.Object)
	if !isObj {
		return nil, errors.New("the default export must be an object with a fetch method")
	}
	if e.fetch, ok = goja.AssertFunction(obj.Get("fetch")); !ok {
		return nil, errors.New("the default export has no fetch method; export default { fetch(request, env) { ... } }")
	}
	e.this = obj
	return e, nil
}

// bundleGlobal is the global that pave build's bundle assigns the entry
// point's exports to.
const bundleGlobal = "__pave_main"

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// defineGlobal defines the global name as the prelude defines its own:
// writable and configurable, not enumerable.
func (e *engine) defineGlobal(name string, v any) {
	must(e.vm.GlobalObject().DefineDataProperty(name, e.vm.ToValue(v), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE))
}

// settle returns a promise settled with what fn returns: capability calls
// are synchronous host calls, so the promise is settled before it is
// returned. An error rejects it with the value thrown (see thrown) or, for
// any other error, with an Error carrying its message.
func (e *engine) settle(fn func() (goja.Value, error)) goja.Value {
	p, resolve, reject := e.vm.NewPromise()
	v, err := fn()
	if err != nil {
		must(reject(e.errorValue(err)))
	} else {
		must(resolve(v))
	}
	return e.vm.ToValue(p)
}

// thrownValue is an error that is a JavaScript value to throw or reject
// with.
type thrownValue struct{ v *goja.Object }

func (t *thrownValue) Error() string { return t.v.String() }

// thrown returns the error that rejects a promise with v.
func (e *engine) thrown(v *goja.Object) error { return &thrownValue{v} }

// errorValue returns the JavaScript value of err: the value a script
// threw, or a new Error with err's message.
func (e *engine) errorValue(err error) goja.Value {
	var t *thrownValue
	if errors.As(err, &t) {
		return t.v
	}
	var exc *goja.Exception
	if errors.As(err, &exc) {
		return exc.Value()
	}
	return e.newError("Error", err.Error(), "")
}

// newError returns a new Error, or TypeError when class says so, with msg
// and, if code is not empty, the property code.
func (e *engine) newError(class, msg, code string) *goja.Object {
	ctor, ok := goja.AssertConstructor(e.vm.Get(class))
	if !ok {
		panic("no constructor " + class)
	}
	o, err := ctor(nil, e.vm.ToValue(msg))
	must(err)
	if code != "" {
		must(o.Set("code", code))
	}
	return o
}

// bytesOf returns the bytes of v, an ArrayBuffer or null as outbound
// returns a body.
func bytesOf(v goja.Value) []byte {
	if b, ok := v.Export().(goja.ArrayBuffer); ok {
		return b.Bytes()
	}
	return nil
}

// request is a request as outbound returns it: the method, the absolute
// URL, the header fields and the body.
type request struct {
	method, url string
	header      pave.Header
	body        []byte
}

// newRequest builds the request fetch(input, init) would send, with the
// prelude's Request: what the script passes is checked and converted as a
// Request's constructor does it. forInvoke makes input a path and the
// method POST by default, as for env.invoke.
func (e *engine) newRequest(input, init goja.Value, forInvoke bool) (*request, error) {
	out, err := e.outbound(goja.Undefined(), input, init, e.vm.ToValue(forInvoke))
	if err != nil {
		return nil, err
	}
	parts := out.ToObject(e.vm)
	r := &request{method: parts.Get("0").String(), url: parts.Get("1").String(), body: bytesOf(parts.Get("3"))}
	pairs := parts.Get("2").ToObject(e.vm)
	for i, n := int64(0), pairs.Get("length").ToInteger(); i+1 < n; i += 2 {
		r.header = append(r.header, pave.HeaderField{Name: pairs.Get(strconv.FormatInt(i, 10)).String(), Value: pairs.Get(strconv.FormatInt(i+1, 10)).String()})
	}
	return r, nil
}

// newResponse returns a Response with the given parts, for fetch and
// env.invoke; url is the URL it answers, or "".
func (e *engine) newResponse(status int, header pave.Header, body []byte, url string) (goja.Value, error) {
	pairs := make([]any, 0, 2*len(header))
	for _, h := range header {
		pairs = append(pairs, h.Name, h.Value)
	}
	vm := e.vm
	return e.inbound(goja.Undefined(), vm.ToValue(status), vm.ToValue(pairs), vm.ToValue(vm.NewArrayBuffer(body)), vm.ToValue(url))
}

// logLine writes a line to the function's log; tests replace it.
var logLine = pave.Log

// errFailed fails an invocation whose cause has been logged already.
var errFailed = errors.New("the handler failed; see the log line before this one")

// serve runs one invocation.
func (e *engine) serve(r *pave.Request) (*pave.Response, error) {
	vm := e.vm
	headers := make([]any, 0, 2*len(r.Header))
	for _, h := range r.Header {
		headers = append(headers, h.Name, h.Value)
	}
	params := vm.NewObject()
	for _, p := range r.Params {
		must(params.Set(p.Name, p.Value))
	}
	req, err := e.makeRequest(goja.Undefined(),
		vm.ToValue(r.Method), vm.ToValue(requestURL(r)), vm.ToValue(headers),
		vm.ToValue(vm.NewArrayBuffer(r.Body)), params,
		vm.ToValue(r.Route), vm.ToValue(r.Caller), vm.ToValue(r.RequestID), e.queued(r))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	defer e.resetTimers()
	res, err := e.fetch(e.this, req, e.env)
	if err != nil {
		return nil, e.fail(err)
	}
	// Calling fetch ran the promise jobs it queued; a promise still
	// pending may wait for a timer. Once none is left, it waits for
	// something that will never happen: the engine has no I/O of its own.
	// Only a promise is exported: exporting any other object copies it
	// into a Go map, property by property.
	if p, ok := promiseOf(res); ok {
		e.runTimers(p)
		switch p.State() {
		case goja.PromiseStatePending:
			logLine(pave.LevelError, "fetch returned a promise that never settled")
			return nil, errFailed
		case goja.PromiseStateRejected:
			return nil, e.fail(reason(p.Result()))
		}
		res = p.Result()
	}
	out, err := e.takeResponse(goja.Undefined(), res)
	if err != nil {
		return nil, e.fail(err)
	}
	parts := out.ToObject(vm)
	status := int(parts.Get("0").ToInteger())
	var hdr pave.Header
	pairs := parts.Get("1").ToObject(vm)
	for i, n := int64(0), pairs.Get("length").ToInteger(); i+1 < n; i += 2 {
		hdr = append(hdr, pave.HeaderField{Name: pairs.Get(strconv.FormatInt(i, 10)).String(), Value: pairs.Get(strconv.FormatInt(i+1, 10)).String()})
	}
	body := parts.Get("2").Export().(goja.ArrayBuffer).Bytes()
	return &pave.Response{Status: status, Header: hdr, Body: body}, nil
}

// promiseType is the type a promise exports as.
var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// promiseOf returns the promise v is, if it is one.
func promiseOf(v goja.Value) (*goja.Promise, bool) {
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != promiseType {
		return nil, false
	}
	p, ok := o.Export().(*goja.Promise)
	return p, ok
}

// queued returns what the host says of a call from its queue (docs/ABI.md,
// calls from the queue), which becomes the request's callId, event and
// scheduledAt: the call's id, the CloudEvent a topic trigger delivered, as
// events.Received reads it, and the tick of a schedule. It is null for a
// synchronous call.
func (e *engine) queued(r *pave.Request) goja.Value {
	id := r.CallID()
	if id == "" && r.Header.Get("Pave-Trigger") == "" {
		return goja.Null()
	}
	vm := e.vm
	o := vm.NewObject()
	must(o.Set("callId", id))
	if ev, ok := events.Received(r); ok {
		ce := vm.NewObject()
		must(ce.Set("topic", ev.Topic))
		must(ce.Set("specversion", "1.0"))
		must(ce.Set("id", ev.ID))
		must(ce.Set("source", ev.Source))
		must(ce.Set("type", ev.Type))
		if ev.Subject != "" {
			must(ce.Set("subject", ev.Subject))
		}
		if !ev.Time.IsZero() {
			must(ce.Set("time", ev.Time.UTC().Format(time.RFC3339Nano)))
		}
		if ev.ContentType != "" {
			must(ce.Set("datacontenttype", ev.ContentType))
		}
		must(o.Set("event", ce))
	}
	if t, ok := r.ScheduledAt(); ok {
		d, err := vm.New(vm.Get("Date"), vm.ToValue(t.UnixMilli()))
		must(err)
		must(o.Set("scheduledAt", d))
	}
	return o
}

// fail logs an uncaught exception with its stack, which goes to the
// function's log and never to the caller.
func (e *engine) fail(err error) error {
	logLine(pave.LevelError, "uncaught "+describe(err).Error())
	return errFailed
}

// jsError is a thrown value, described with its stack when it has one.
type jsError struct{ msg string }

func (e *jsError) Error() string { return e.msg }

// maxStackLines is the most lines of a stack trace logged: a stack
// overflow's trace holds every frame.
const maxStackLines = 24

// shorten cuts the stack trace s to maxStackLines lines.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	lines := strings.SplitN(s, "\n", maxStackLines+1)
	if len(lines) <= maxStackLines {
		return s
	}
	more := strings.Count(lines[maxStackLines], "\n") + 1
	return strings.Join(lines[:maxStackLines], "\n") + fmt.Sprintf("\n\t... %d more lines", more)
}

// describe turns an error from goja into one whose message is the thrown
// value's stack or, for a value that is not an Error, the value itself.
func describe(err error) error {
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &jsError{msg: shorten(fmt.Sprintf("RangeError: Maximum call stack size exceeded (%d nested calls)\n\t%s",
			maxCallStack, strings.TrimSpace(so.String())))}
	}
	var exc *goja.Exception
	if errors.As(err, &exc) {
		return &jsError{msg: shorten(exc.String())}
	}
	var syn *goja.CompilerSyntaxError
	if errors.As(err, &syn) {
		return &jsError{msg: "SyntaxError: " + syn.Error()}
	}
	return err
}

// reason turns a rejected promise's value into an error.
func reason(v goja.Value) error {
	if o, ok := v.(*goja.Object); ok {
		if stack := o.Get("stack"); stack != nil && !goja.IsUndefined(stack) {
			return &jsError{msg: shorten(stack.String())}
		}
	}
	return &jsError{msg: v.String()}
}

// requestURL is the absolute URL of the request: the Host header's
// authority, or localhost, with the path and query. The gateway speaks
// plain HTTP, so the scheme is http.
func requestURL(r *pave.Request) string {
	host := r.Header.Get("Host")
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		host = "localhost"
	}
	u := url.URL{Scheme: "http", Host: host, Path: r.Path, RawQuery: r.RawQuery}
	return u.String()
}

// log writes one console line to the function's log.
func (e *engine) log(level int, msg string) {
	logLine(pave.Level(level), msg)
}

// encode is TextEncoder's encode: the UTF-8 bytes of s, with unpaired
// surrogates as U+FFFD.
func (e *engine) encode(s goja.Value) goja.ArrayBuffer {
	return e.vm.NewArrayBuffer([]byte(s.String()))
}

// decode is TextDecoder's decode: invalid UTF-8 becomes U+FFFD, or an
// error when fatal.
func (e *engine) decode(b goja.ArrayBuffer, fatal bool) string {
	data := b.Bytes()
	if utf8.Valid(data) {
		return strings.TrimPrefix(string(data), "\uFEFF")
	}
	if fatal {
		panic(e.vm.NewTypeError("TextDecoder: the data is not valid UTF-8"))
	}
	return strings.TrimPrefix(strings.ToValidUTF8(string(data), "\uFFFD"), "\uFEFF")
}

// randomFill fills n bytes of b from offset with crypto randomness, which
// is the host's random_get.
func randomFill(b goja.ArrayBuffer, offset, n int) {
	if _, err := rand.Read(b.Bytes()[offset : offset+n]); err != nil {
		panic(err)
	}
}

// randomUUID returns a random (version 4) UUID.
func randomUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// unbase64 is atob's forgiving base64 decoding: ASCII whitespace is
// ignored and padding is optional. It returns nil for anything else.
func (e *engine) unbase64(s string) any {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
			return -1
		}
		return r
	}, s)
	if len(s)%4 == 0 && strings.HasSuffix(s, "=") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	}
	if len(s)%4 == 1 {
		return nil
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return e.vm.NewArrayBuffer(b)
}

// headerName returns the header name s in lower case, or nil if it is not
// an HTTP token.
func headerName(s string) any {
	if s == "" {
		return nil
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || !isTokenChar[c] {
			return nil
		}
	}
	return strings.ToLower(s)
}

// isTokenChar reports the characters of an HTTP token (RFC 9110).
var isTokenChar = func() (t [128]bool) {
	for _, c := range "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// headerValue returns the header value s without leading and trailing
// whitespace, or nil if it holds NUL, CR or LF.
func headerValue(s string) any {
	s = strings.Trim(s, "\t\n\r ")
	if strings.ContainsAny(s, "\x00\r\n") {
		return nil
	}
	return s
}

// percentDecode decodes %XX sequences, leaving malformed ones as they are
// (decodeURIComponent throws on them, URLSearchParams must not).
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// parseURL parses raw, relative to base if given, and returns its parts,
// or the reason it is not a URL as a string.
func (e *engine) parseURL(raw string, base goja.Value) any {
	u, err := url.Parse(raw)
	if err != nil {
		return err.Error()
	}
	if base != nil && !goja.IsUndefined(base) {
		b, err := url.Parse(base.String())
		if err != nil || b.Scheme == "" {
			return "invalid base URL " + base.String()
		}
		u = b.ResolveReference(u)
	}
	if u.Scheme == "" {
		return "no scheme in " + raw
	}
	special := u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss" || u.Scheme == "file"
	if special && u.Host == "" && u.Scheme != "file" {
		return "no host in " + raw
	}
	path := u.EscapedPath()
	if special && path == "" {
		path = "/"
	}
	if u.Opaque != "" {
		path = u.Opaque
	}
	port := u.Port()
	if port == "80" && (u.Scheme == "http" || u.Scheme == "ws") || port == "443" && (u.Scheme == "https" || u.Scheme == "wss") {
		port = ""
	}
	password, _ := u.User.Password()
	parts := map[string]any{
		"protocol": strings.ToLower(u.Scheme) + ":",
		"username": u.User.Username(),
		"password": password,
		"hostname": strings.ToLower(u.Hostname()),
		"port":     port,
		"pathname": path,
		"search":   "",
		"hash":     "",
		"special":  special,
	}
	if u.RawQuery != "" {
		parts["search"] = "?" + u.RawQuery
	}
	if f := u.EscapedFragment(); f != "" {
		parts["hash"] = "#" + f
	}
	return parts
}
