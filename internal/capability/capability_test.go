package capability

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

type fakeSecrets map[string]string

func (f fakeSecrets) Get(_ context.Context, name string, _ int) (secret.Value, int, error) {
	v, ok := f[name]
	if !ok {
		return "", 0, ErrSecretNotFound
	}
	return secret.Value(v), 1, nil
}

// memBucket is an in-memory Bucket with revisions.
type memBucket struct {
	mu   sync.Mutex
	rev  uint64
	data map[string]store.Entry
}

func (m *memBucket) Get(_ context.Context, key string) (store.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.data[key]
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	return e, nil
}

func (m *memBucket) set(key string, v []byte) uint64 {
	m.rev++
	m.data[key] = store.Entry{Key: key, Value: v, Revision: m.rev}
	return m.rev
}

func (m *memBucket) Put(_ context.Context, key string, v []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set(key, v), nil
}

func (m *memBucket) Create(_ context.Context, key string, v []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[key]; ok {
		return 0, store.ErrExists
	}
	return m.set(key, v), nil
}

func (m *memBucket) Update(_ context.Context, key string, v []byte, rev uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.data[key]; !ok || e.Revision != rev {
		return 0, store.ErrConflict
	}
	return m.set(key, v), nil
}

func (m *memBucket) Delete(_ context.Context, key string, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.data[key]; !ok || e.Revision != rev {
		return store.ErrConflict
	}
	delete(m.data, key)
	return nil
}

func (m *memBucket) Keys(_ context.Context, prefix string, limit int) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out[:min(len(out), limit)], len(out) > limit, nil
}

type memBuckets struct {
	mu      sync.Mutex
	buckets map[string]*memBucket
}

func (m *memBuckets) Bucket(_ context.Context, name string) (Bucket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[name]
	if b == nil {
		b = &memBucket{data: map[string]store.Entry{}}
		m.buckets[name] = b
	}
	return b, nil
}

// newTestBroker returns a Broker over a secret store of two secrets and
// buckets in memory, with what each of with adds to its Deps.
func newTestBroker(t *testing.T, with ...func(*Deps)) (*Broker, *memBuckets, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	buckets := &memBuckets{buckets: map[string]*memBucket{}}
	d := Deps{Secrets: fakeSecrets{"API_TOKEN": "tok-123456", "OTHER": "other-value"}, Buckets: buckets, Log: slog.New(slog.NewJSONHandler(logs, nil))}
	for _, w := range with {
		w(&d)
	}
	return NewBroker(d), buckets, logs
}

func TestSecretsGrant(t *testing.T) {
	b, _, logs := newTestBroker(t)
	ctx := context.Background()
	s := b.Session(Invocation{Function: "orders", Owner: "team-a", RequestID: "req-1"}, manifest.Capabilities{Secrets: []string{"API_TOKEN", "UNSET"}})
	v, err := s.Secret(ctx, "API_TOKEN")
	if err != nil || string(v) != "tok-123456" {
		t.Fatalf("granted secret: %q, %v", v, err)
	}
	if _, err := s.Secret(ctx, "OTHER"); !errors.Is(err, hostapi.ErrDenied) {
		t.Errorf("ungranted secret: %v, want ErrDenied", err)
	}
	if _, err := s.Secret(ctx, "UNSET"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("granted but unset secret: %v, want ErrNotFound", err)
	}
	if got := s.SecretsRead(); len(got) != 1 || got[0].Reveal() != "tok-123456" {
		t.Errorf("SecretsRead = %d values", len(got))
	}
	log := logs.String()
	if !strings.Contains(log, `"msg":"capability denied"`) || !strings.Contains(log, `"msg":"secret read"`) {
		t.Errorf("no audit lines for the read and the denial:\n%s", log)
	}
	if strings.Contains(log, "tok-123456") || strings.Contains(log, "other-value") {
		t.Error("a secret value reached the log")
	}
	u := b.Uses()["orders"]["secrets"]
	if u.Calls != 3 || u.Denials != 1 || u.Last.IsZero() {
		t.Errorf("use = %+v", u)
	}
}

func TestKVGrants(t *testing.T) {
	b, buckets, _ := newTestBroker(t)
	ctx := context.Background()
	grants := manifest.Capabilities{KV: map[string]string{"orders": manifest.KVWrite, "prices": manifest.KVRead}}
	s := b.Session(Invocation{Function: "fn", Owner: "team-a", RequestID: "r"}, grants)

	rev, err := s.KVCAS(ctx, "orders", "o/1", []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVCAS(ctx, "orders", "o/1", []byte("again"), 0); !errors.Is(err, hostapi.ErrConflict) {
		t.Errorf("create of an existing key: %v", err)
	}
	if _, err := s.KVCAS(ctx, "orders", "o/1", []byte("v2"), rev+100); !errors.Is(err, hostapi.ErrConflict) {
		t.Errorf("stale revision: %v", err)
	}
	if _, err := s.KVCAS(ctx, "orders", "o/1", []byte("v2"), rev); err != nil {
		t.Errorf("current revision: %v", err)
	}
	v, _, err := s.KVGet(ctx, "orders", "o/1")
	if err != nil || string(v) != "v2" {
		t.Errorf("get = %q, %v", v, err)
	}
	if _, err := s.KVPut(ctx, "orders", "o/2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	keys, err := s.KVList(ctx, "orders", "o/")
	if err != nil || !slices.Equal(keys, []string{"o/1", "o/2"}) {
		t.Errorf("list = %v, %v", keys, err)
	}
	if err := s.KVDelete(ctx, "orders", "o/2"); err != nil {
		t.Error(err)
	}
	if _, _, err := s.KVGet(ctx, "orders", "o/2"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("deleted key: %v", err)
	}

	// Read-only, ungranted, and malformed.
	if _, err := s.KVPut(ctx, "prices", "p", []byte("1")); !errors.Is(err, hostapi.ErrDenied) {
		t.Errorf("write to a read-only bucket: %v", err)
	}
	if _, _, err := s.KVGet(ctx, "prices", "p"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("read of a read-only bucket: %v", err)
	}
	if _, _, err := s.KVGet(ctx, "secrets", "k"); !errors.Is(err, hostapi.ErrDenied) {
		t.Errorf("ungranted bucket: %v", err)
	}
	if _, err := s.KVPut(ctx, "orders", "a b", nil); !errors.Is(err, hostapi.ErrInvalid) {
		t.Errorf("bad key: %v", err)
	}

	// Another owner granting itself "orders" gets its own store.
	other := b.Session(Invocation{Function: "fn2", Owner: "team-b", RequestID: "r"}, grants)
	if _, _, err := other.KVGet(ctx, "orders", "o/1"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("team-b read team-a's key: %v", err)
	}
	if BucketName("team-a", "orders") == BucketName("team-b", "orders") {
		t.Error("two owners share a storage bucket")
	}
	if n := len(buckets.buckets); n != 3 {
		t.Errorf("%d storage buckets, want 3 (team-a orders, team-a prices, team-b orders)", n)
	}
}

func TestCallLimit(t *testing.T) {
	b, _, _ := newTestBroker(t)
	s := b.Session(Invocation{Function: "fn", Owner: "o", RequestID: "r"}, manifest.Capabilities{KV: map[string]string{"b": manifest.KVRead}})
	for i := range MaxCallsPerInvocation {
		if _, _, err := s.KVGet(context.Background(), "b", "k"); !errors.Is(err, hostapi.ErrNotFound) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, _, err := s.KVGet(context.Background(), "b", "k"); !errors.Is(err, hostapi.ErrLimit) {
		t.Errorf("after %d calls: %v, want ErrLimit", MaxCallsPerInvocation, err)
	}
}

// Every outbound call is counted with how it ended: a granted call whose
// upstream cannot be reached is a call and a failure, and a use of the
// grant (a grant whose upstream is down is not unused); an ungranted host
// is a denial; a call that answers is a success.
func TestHTTPCallsAreCountedWithTheirOutcome(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // nothing listens there any more
	b, _, _ := newTestBroker(t, func(d *Deps) {
		d.HTTP = egress.New(egress.Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowIPGrants: true})
	})
	host := func(u string) string { return strings.TrimPrefix(u, "http://") }
	s := b.Session(Invocation{Function: "sync", Owner: "team-a"}, manifest.Capabilities{HTTP: []string{host(up.URL), host(downURL)}})
	ctx := context.Background()
	if resp, err := s.HTTP(ctx, &abi.Outbound{Method: "GET", URL: up.URL + "/"}); err != nil || resp.Status != 204 {
		t.Fatalf("a granted call that answers: %+v, %v", resp, err)
	}
	if _, err := s.HTTP(ctx, &abi.Outbound{Method: "GET", URL: downURL + "/"}); err == nil || errors.Is(err, hostapi.ErrDenied) {
		t.Fatalf("a granted call to a closed port: %v, want a failure", err)
	}
	if _, err := s.HTTP(ctx, &abi.Outbound{Method: "GET", URL: "http://127.0.0.1:1/"}); !errors.Is(err, hostapi.ErrDenied) {
		t.Fatalf("an ungranted host: %v, want ErrDenied", err)
	}
	if c := s.Counts()["http"]; c != (Count{Calls: 3, Denials: 1, Failures: 1}) {
		t.Errorf("this invocation's count = %+v", c)
	}
	if u := b.Uses()["sync"]["http"]; u.Calls != 3 || u.Denials != 1 || u.Failures != 1 || u.Last.IsZero() {
		t.Errorf("use = %+v", u)
	}

	// A function whose only calls failed still used its grant.
	only := b.Session(Invocation{Function: "nightly", Owner: "team-a"}, manifest.Capabilities{HTTP: []string{host(downURL)}})
	_, _ = only.HTTP(ctx, &abi.Outbound{Method: "GET", URL: downURL + "/"})
	if u := b.Uses()["nightly"]["http"]; u.Calls != 1 || u.Failures != 1 || u.Last.IsZero() {
		t.Errorf("a grant whose upstream is down: use = %+v", u)
	}
}
