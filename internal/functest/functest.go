// Package functest runs a function's test cases (pave test): each case is
// a request, or an event or schedule tick, sent to the function's built
// module on the runtime pave serves it with, in-process, and the response
// it must get. The function's capabilities go through the broker the daemon
// uses, so its grants apply, over fake stores filled from the case file:
// secrets by name, key-value buckets' contents, and the answers to
// outbound requests by URL. Events it publishes are kept and printed.
//
// The gateway's checks (authentication, input contracts, rate limits) do
// not run: a case tests the function's code, as go test does a Go
// handler's.
package functest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// Fixture is a case file, pave.test.yaml.
type Fixture struct {
	// Secrets are the secrets' values, by name.
	Secrets map[string]string `yaml:"secrets"`
	// KV is the contents of the function's buckets: bucket, key, value.
	KV map[string]map[string]string `yaml:"kv"`
	// HTTP answers outbound requests, by their URL; a granted request to
	// a URL not listed fails as unavailable.
	HTTP map[string]Answer `yaml:"http"`
	// Tests are the cases, run in order, against one set of stores.
	Tests []Case `yaml:"tests"`
}

// Answer is the response to an outbound request.
type Answer struct {
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
}

// Case is one call and what it must answer.
type Case struct {
	Name string `yaml:"name"`
	// Topic delivers Request.Body as an event on this topic, as a topic
	// trigger does; Schedule sends a tick of the function's schedule.
	Topic    string  `yaml:"topic"`
	Schedule bool    `yaml:"schedule"`
	Request  Request `yaml:"request"`
	// Status is the status the response must have.
	Status int `yaml:"status"`
	// Body, when set, is the body the response must have, exactly but for
	// a final newline; BodyContains, a part of it.
	Body         *string `yaml:"body"`
	BodyContains string  `yaml:"body_contains"`
}

// Request is a case's request. Route is found from the manifest when the
// path is one of its routes' (without parameters) and not given.
type Request struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Route   string            `yaml:"route"`
	Params  map[string]string `yaml:"params"`
	Query   string            `yaml:"query"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Caller  string            `yaml:"caller"`
}

// ParseFixture reads a case file.
func ParseFixture(file string, data []byte) (*Fixture, error) {
	var fx Fixture
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fx); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(fx.Tests) == 0 {
		return nil, fmt.Errorf("%s: no tests", file)
	}
	for u, a := range fx.HTTP {
		if a.Status < 100 || a.Status > 599 {
			return nil, fmt.Errorf("%s: http[%s]: status %d: want 100 to 599", file, u, a.Status)
		}
	}
	for i, c := range fx.Tests {
		what := fmt.Sprintf("%s: tests[%d]", file, i)
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("%s: a test needs a name", what)
		case c.Status < 100 || c.Status > 599:
			return nil, fmt.Errorf("%s (%s): status %d: want the status the response must have, 100 to 599", what, c.Name, c.Status)
		case c.Topic != "" && c.Schedule:
			return nil, fmt.Errorf("%s (%s): a test is an event (topic) or a tick (schedule), not both", what, c.Name)
		}
	}
	return &fx, nil
}

// CacheDir is where compiled modules are kept across runs: the user's
// cache directory, or none.
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "pave", "wazero")
}

// Run runs fx's cases on wasm, the module of the function m describes,
// writing a line per case to out, and returns how many failed. An error is
// a module that cannot run at all.
func Run(ctx context.Context, m *manifest.Manifest, wasm []byte, fx *Fixture, cacheDir string, out io.Writer) (failed int, err error) {
	eng, err := runtime.New(ctx, runtime.Config{CacheDir: cacheDir, Isolation: runtime.Snapshot})
	if err != nil {
		return 0, err
	}
	defer eng.Close(context.WithoutCancel(ctx))
	lim := runtime.Limits{Timeout: m.Limits.Timeout, Memory: m.Limits.Memory, Concurrency: 1}
	mod, err := eng.Prepare(ctx, digest(wasm), wasm, m.Capabilities.Granted, lim)
	if err != nil {
		return 0, fmt.Errorf("the module of %s: %w", m.Name, err)
	}
	pub := &publisher{}
	// The client checks URLs against the grants; it never sends anything.
	egressClient := egress.New(egress.Policy{})
	var grants []egress.Grant
	for _, g := range m.Capabilities.HTTP {
		if pg, err := egress.ParseGrant(g); err == nil {
			grants = append(grants, pg)
		}
	}
	broker := capability.NewBroker(capability.Deps{
		Secrets:   fakeSecrets(fx.Secrets),
		Buckets:   newBuckets(m.Owner, fx.KV),
		Publisher: pub,
	})
	for i, c := range fx.Tests {
		req, err := request(m, c, i)
		if err != nil {
			fmt.Fprintf(out, "FAIL %s: %v\n", c.Name, err)
			failed++
			continue
		}
		session := broker.Session(capability.Invocation{
			Function: m.Name, Owner: m.Owner, RequestID: req.RequestID, Caller: req.Caller,
			Depth: 1, Calls: limits.NewCallTree(100),
		}, m.Capabilities)
		start := time.Now()
		caps := &fakeHTTP{Session: session, granted: len(m.Capabilities.HTTP) > 0, egress: egressClient.Session(grants), answers: fx.HTTP}
		res, err := eng.Invoke(hostapi.WithCapabilities(ctx, caps), mod, lim, req)
		took := time.Since(start).Round(time.Millisecond)
		problems := check(c, res, err)
		if len(problems) == 0 {
			fmt.Fprintf(out, "ok   %s (%s)\n", c.Name, took)
		} else {
			failed++
			fmt.Fprintf(out, "FAIL %s (%s)\n", c.Name, took)
			for _, p := range problems {
				fmt.Fprintf(out, "     %s\n", p)
			}
			if res != nil {
				for _, l := range res.Logs {
					fmt.Fprintf(out, "     log %s: %s\n", strings.ToLower(l.Level.String()), l.Msg)
				}
			}
		}
		for _, ev := range pub.take() {
			fmt.Fprintf(out, "     published to %s: %s\n", ev.topic, ev.data)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", len(fx.Tests)-failed, failed)
	return failed, nil
}

// check compares a call's outcome with what c wants.
func check(c Case, res *runtime.Result, err error) []string {
	if err != nil {
		// The gateway answers a failed call with 502.
		if c.Status == 502 {
			return nil
		}
		return []string{fmt.Sprintf("the call failed (the caller would get 502): %v", err)}
	}
	var problems []string
	resp := res.Response
	if resp.Status != c.Status {
		problems = append(problems, fmt.Sprintf("status %d, want %d", resp.Status, c.Status))
	}
	got := strings.TrimSuffix(string(resp.Body), "\n")
	if c.Body != nil && got != strings.TrimSuffix(*c.Body, "\n") {
		problems = append(problems, fmt.Sprintf("body:\n       got  %q\n       want %q", got, strings.TrimSuffix(*c.Body, "\n")))
	}
	if c.BodyContains != "" && !strings.Contains(got, c.BodyContains) {
		problems = append(problems, fmt.Sprintf("body %q does not contain %q", got, c.BodyContains))
	}
	return problems
}

// request builds the request of case c, the i-th.
func request(m *manifest.Manifest, c Case, i int) (*abi.Request, error) {
	r := c.Request
	req := &abi.Request{
		Method: r.Method, Path: r.Path, Route: r.Route, RawQuery: r.Query,
		Body: []byte(r.Body), Caller: r.Caller,
		RequestID: fmt.Sprintf("test-%d", i+1),
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(strings.ToLower(k), "pave-") {
			return nil, fmt.Errorf("header %s: Pave-* fields are the host's; a test sends them with topic or schedule", k)
		}
		req.Headers = append(req.Headers, abi.Header{Name: k, Value: r.Headers[k]})
	}
	for _, k := range sortedKeys(r.Params) {
		req.Params = append(req.Params, abi.Param{Name: k, Value: r.Params[k]})
	}
	switch {
	case c.Topic != "":
		if !slices.ContainsFunc(m.Triggers, func(t manifest.Trigger) bool { return t.Topic == c.Topic }) {
			return nil, fmt.Errorf("topic %s: pave.yaml has no trigger on it", c.Topic)
		}
		req.Method, req.Path, req.Route = "POST", "/", ""
		if req.Caller == "" {
			req.Caller = "key:test"
		}
		ct := "application/octet-stream"
		if json.Valid(req.Body) {
			ct = "application/json"
		}
		req.Headers = append(req.Headers,
			abi.Header{Name: "ce-specversion", Value: "1.0"},
			abi.Header{Name: "ce-id", Value: fmt.Sprintf("test-%d", i+1)},
			abi.Header{Name: "ce-source", Value: "/pave-test"},
			abi.Header{Name: "ce-type", Value: c.Topic},
			abi.Header{Name: "ce-time", Value: time.Now().UTC().Format(time.RFC3339Nano)},
			abi.Header{Name: "Content-Type", Value: ct},
			abi.Header{Name: "Pave-Call-Id", Value: callID()},
			abi.Header{Name: "Pave-Call-Depth", Value: "1"},
			abi.Header{Name: "Pave-Trigger", Value: "topic " + c.Topic})
	case c.Schedule:
		k := slices.IndexFunc(m.Triggers, func(t manifest.Trigger) bool { return t.Schedule != "" })
		if k < 0 {
			return nil, errors.New("schedule: pave.yaml has no schedule")
		}
		req.Method, req.Path, req.Route, req.Caller = "POST", "/", "", "schedule"
		req.Headers = append(req.Headers,
			abi.Header{Name: "Pave-Call-Id", Value: callID()},
			abi.Header{Name: "Pave-Call-Depth", Value: "1"},
			abi.Header{Name: "Pave-Trigger", Value: "schedule " + m.Triggers[k].Schedule},
			abi.Header{Name: "Pave-Schedule-Tick", Value: time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339)})
	default:
		if req.Method == "" {
			req.Method = "GET"
		}
		if req.Path == "" {
			req.Path = "/"
		}
		if req.Route == "" {
			for _, rt := range m.Routes {
				if rt.Method == req.Method && rt.Path == req.Path {
					req.Route = rt.Path
				}
			}
		}
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("invalid request: %w", err)
	}
	return req, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func callID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// fakeSecrets are the case file's secrets.
type fakeSecrets map[string]string

func (s fakeSecrets) Get(_ context.Context, name string, _ int) (secret.Value, int, error) {
	v, ok := s[name]
	if !ok {
		return "", 0, capability.ErrSecretNotFound
	}
	return secret.Value(v), 1, nil
}

// buckets are the case file's buckets, by their storage name.
type buckets struct {
	mu sync.Mutex
	m  map[string]*bucket
}

func newBuckets(owner string, kv map[string]map[string]string) *buckets {
	b := &buckets{m: map[string]*bucket{}}
	for name, entries := range kv {
		bk := &bucket{entries: map[string]store.Entry{}}
		for k, v := range entries {
			bk.rev++
			bk.entries[k] = store.Entry{Key: k, Value: []byte(v), Revision: bk.rev}
		}
		b.m[capability.BucketName(owner, name)] = bk
	}
	return b
}

func (b *buckets) Bucket(_ context.Context, name string) (capability.Bucket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.m[name]
	if !ok {
		bk = &bucket{entries: map[string]store.Entry{}}
		b.m[name] = bk
	}
	return bk, nil
}

// bucket is one bucket in memory, with revisions as the store counts them.
type bucket struct {
	mu      sync.Mutex
	rev     uint64
	entries map[string]store.Entry
}

func (b *bucket) Get(_ context.Context, key string) (store.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	e.Value = slices.Clone(e.Value)
	return e, nil
}

func (b *bucket) put(key string, value []byte) uint64 {
	b.rev++
	b.entries[key] = store.Entry{Key: key, Value: slices.Clone(value), Revision: b.rev}
	return b.rev
}

func (b *bucket) Put(_ context.Context, key string, value []byte) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.put(key, value), nil
}

func (b *bucket) Create(_ context.Context, key string, value []byte) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.entries[key]; ok {
		return 0, store.ErrExists
	}
	return b.put(key, value), nil
}

func (b *bucket) Update(_ context.Context, key string, value []byte, rev uint64) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[key]; !ok || e.Revision != rev {
		return 0, store.ErrConflict
	}
	return b.put(key, value), nil
}

func (b *bucket) Delete(_ context.Context, key string, rev uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return store.ErrNotFound
	}
	if rev != 0 && e.Revision != rev {
		return store.ErrConflict
	}
	delete(b.entries, key)
	return nil
}

func (b *bucket) Keys(_ context.Context, prefix string, limit int) ([]string, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k := range b.entries {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		return keys[:limit], true, nil
	}
	return keys, false, nil
}

// fakeHTTP is a session whose outbound requests the case file answers,
// once the grants' check of the URL, the egress client's, has passed; a
// function granted no host at all is denied by the session itself.
type fakeHTTP struct {
	*capability.Session
	granted bool // the manifest grants any host
	egress  *egress.Session
	answers map[string]Answer
}

func (f *fakeHTTP) HTTP(ctx context.Context, req *abi.Outbound) (*abi.Response, error) {
	if !f.granted {
		return f.Session.HTTP(ctx, req) // denied, and audited as such
	}
	if err := f.egress.Check(req.URL); err != nil {
		if errors.Is(err, egress.ErrBadRequest) {
			return nil, fmt.Errorf("%w: %v", hostapi.ErrInvalid, err)
		}
		return nil, fmt.Errorf("%w: %v", hostapi.ErrDenied, err)
	}
	a, ok := f.answers[req.URL]
	if !ok {
		return nil, fmt.Errorf("pave.test.yaml has no answer for %s", req.URL)
	}
	resp := &abi.Response{Status: a.Status, Body: []byte(a.Body)}
	for _, k := range sortedKeys(a.Headers) {
		resp.Headers = append(resp.Headers, abi.Header{Name: k, Value: a.Headers[k]})
	}
	return resp, nil
}

// publisher keeps the events a case published.
type publisher struct {
	mu     sync.Mutex
	events []published
}

type published struct{ topic, data string }

func (p *publisher) Publish(_ context.Context, topic string, ev events.Event) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, published{topic, string(ev.Data)})
	return callID(), nil
}

func (p *publisher) take() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	evs := p.events
	p.events = nil
	return evs
}
