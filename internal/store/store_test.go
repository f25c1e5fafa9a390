package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/internal/store"
)

// waitTimeout bounds every wait for an asynchronous delivery.
const waitTimeout = 10 * time.Second

// open starts an embedded server on dir. The caller closes it (see
// openCleanup) so that tests can close and re-open the same directory.
func open(t testing.TB, dir string) *store.NATS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return n
}

// openCleanup is open on a fresh directory, closed when the test ends.
func openCleanup(t *testing.T) *store.NATS {
	t.Helper()
	n := open(t, t.TempDir())
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

func kv(t testing.TB, n *store.NATS, bucket string) *store.KV {
	t.Helper()
	b, err := n.KV(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blobs(t *testing.T, n *store.NATS, bucket string) *store.Blobs {
	t.Helper()
	b, err := n.Blobs(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenEmbedded(t *testing.T) {
	n := openCleanup(t)
	if !n.Embedded() {
		t.Fatal("Open without a URL must embed a server")
	}
}

func TestOpenRefusals(t *testing.T) {
	// A server without JetStream: Open must not pretend to work.
	plain := startServer(t, false)
	tests := []struct {
		name string
		opts store.Options
	}{
		{"embedded without a data directory", store.Options{}},
		{"external without jetstream", store.Options{URL: plain.ClientURL()}},
		{"nothing listening", store.Options{URL: "nats://127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			n, err := store.Open(ctx, tt.opts)
			if err == nil {
				n.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// TestKVSemantics runs one key through every operation in order; each step
// states the error it must produce.
func TestKVSemantics(t *testing.T) {
	ctx := context.Background()
	b := kv(t, openCleanup(t), "semantics")

	var rev1, rev2, rev3 uint64
	steps := []struct {
		name string
		do   func() error
		want error // nil, or the sentinel errors.Is must find
	}{
		{"get missing", func() error { _, err := b.Get(ctx, "k"); return err }, store.ErrNotFound},
		{"create", func() (err error) { rev1, err = b.Create(ctx, "k", []byte("v1")); return err }, nil},
		{"create existing", func() error { _, err := b.Create(ctx, "k", []byte("x")); return err }, store.ErrExists},
		{"get after create", func() error { return expectEntry(ctx, b, "k", "v1", rev1) }, nil},
		{"update at current revision", func() (err error) { rev2, err = b.Update(ctx, "k", []byte("v2"), rev1); return err }, nil},
		{"update at stale revision", func() error { _, err := b.Update(ctx, "k", []byte("x"), rev1); return err }, store.ErrConflict},
		{"get after update", func() error { return expectEntry(ctx, b, "k", "v2", rev2) }, nil},
		{"put unconditionally", func() (err error) { rev3, err = b.Put(ctx, "k", []byte("v3")); return err }, nil},
		{"get after put", func() error { return expectEntry(ctx, b, "k", "v3", rev3) }, nil},
		{"delete at stale revision", func() error { return b.Delete(ctx, "k", rev2) }, store.ErrConflict},
		{"value survives a refused delete", func() error { return expectEntry(ctx, b, "k", "v3", rev3) }, nil},
		{"delete at current revision", func() error { return b.Delete(ctx, "k", rev3) }, nil},
		{"get deleted", func() error { _, err := b.Get(ctx, "k"); return err }, store.ErrNotFound},
		{"create over a deleted key", func() error {
			rev, err := b.Create(ctx, "k", []byte("again"))
			if err != nil {
				return err
			}
			return expectEntry(ctx, b, "k", "again", rev)
		}, nil},
		{"update of a key never written", func() error { _, err := b.Update(ctx, "other", []byte("x"), 1); return err }, store.ErrConflict},
		{"put creates", func() error {
			rev, err := b.Put(ctx, "other", []byte("p"))
			if err != nil {
				return err
			}
			return expectEntry(ctx, b, "other", "p", rev)
		}, nil},
	}
	for _, s := range steps {
		err := s.do()
		switch {
		case s.want == nil && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.want != nil && !errors.Is(err, s.want):
			t.Fatalf("%s: got %v, want an error matching %v", s.name, err, s.want)
		}
	}
	if rev1 == 0 || !(rev1 < rev2 && rev2 < rev3) {
		t.Errorf("revisions %d, %d, %d do not increase", rev1, rev2, rev3)
	}
}

func expectEntry(ctx context.Context, b *store.KV, key, value string, rev uint64) error {
	e, err := b.Get(ctx, key)
	if err != nil {
		return err
	}
	if e.Key != key || string(e.Value) != value || e.Revision != rev || e.Deleted {
		return fmt.Errorf("got %+v, want %s=%q at revision %d", e, key, value, rev)
	}
	return nil
}

// watcher collects what Watch delivers: entries before ready in initial,
// later ones on the channel.
type watcher struct {
	mu      sync.Mutex
	ready   bool
	initial []store.Entry
	later   chan store.Entry
}

func watch(t *testing.T, b *store.KV) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &watcher{later: make(chan store.Entry, 100)}
	readyCalls := 0
	err := b.Watch(ctx, func(e store.Entry) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.ready {
			w.initial = append(w.initial, e)
			return
		}
		w.later <- e
	}, func() {
		w.mu.Lock()
		w.ready = true
		readyCalls++
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if readyCalls != 1 {
		t.Fatalf("Watch returned with ready called %d times, want 1", readyCalls)
	}
	return w
}

func (w *watcher) next(t *testing.T) store.Entry {
	t.Helper()
	select {
	case e := <-w.later:
		return e
	case <-time.After(waitTimeout):
		t.Fatal("no watch update within", waitTimeout)
		return store.Entry{}
	}
}

func TestWatch(t *testing.T) {
	ctx := context.Background()
	b := kv(t, openCleanup(t), "watch")

	revA, err := b.Put(ctx, "a", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	revB, err := b.Put(ctx, "b", []byte("2"))
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, b)

	w.mu.Lock()
	initial := w.initial
	w.mu.Unlock()
	got := map[string]store.Entry{}
	for _, e := range initial {
		got[e.Key] = e
	}
	if len(initial) != 2 || string(got["a"].Value) != "1" || got["a"].Revision != revA ||
		string(got["b"].Value) != "2" || got["b"].Revision != revB {
		t.Fatalf("before ready: %+v, want a=1@%d and b=2@%d", initial, revA, revB)
	}

	revC, err := b.Put(ctx, "c", []byte("3"))
	if err != nil {
		t.Fatal(err)
	}
	revA2, err := b.Update(ctx, "a", []byte("1b"), revA)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "b", revB); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, value string
		rev        uint64 // 0: not checked (a delete marker's revision is not returned)
		deleted    bool
	}{
		{"c", "3", revC, false},
		{"a", "1b", revA2, false},
		{"b", "", 0, true},
	}
	for _, tt := range tests {
		e := w.next(t)
		if e.Key != tt.key || e.Deleted != tt.deleted || (!tt.deleted && string(e.Value) != tt.value) || (tt.rev != 0 && e.Revision != tt.rev) {
			t.Fatalf("update %+v, want %s=%q deleted=%v rev=%d", e, tt.key, tt.value, tt.deleted, tt.rev)
		}
		if tt.deleted && e.Revision <= revA2 {
			t.Errorf("delete marker revision %d is not after the last write %d", e.Revision, revA2)
		}
	}
}

func TestWatchEmptyBucket(t *testing.T) {
	b := kv(t, openCleanup(t), "empty")
	w := watch(t, b)
	w.mu.Lock()
	initial := w.initial
	w.mu.Unlock()
	if len(initial) != 0 {
		t.Fatalf("an empty bucket delivered %+v before ready", initial)
	}
	if _, err := b.Put(context.Background(), "first", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if e := w.next(t); e.Key != "first" || string(e.Value) != "x" {
		t.Fatalf("update %+v, want first=x", e)
	}
}

// TestWatchCancelledDuringReplay ends the context after the first replayed
// entry: Watch must give up with an error instead of calling ready with a
// partial view.
func TestWatchCancelledDuringReplay(t *testing.T) {
	b := kv(t, openCleanup(t), "cancel")
	for i := 0; i < 50; i++ {
		if _, err := b.Put(context.Background(), fmt.Sprintf("k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var replayed int
	ready := false
	err := b.Watch(ctx, func(store.Entry) {
		replayed++
		cancel()
	}, func() { ready = true })
	if !errors.Is(err, context.Canceled) || ready {
		t.Fatalf("Watch cancelled after %d entries = %v, ready called: %v; want context.Canceled, no ready", replayed, err, ready)
	}
}

func TestBlobs(t *testing.T) {
	ctx := context.Background()
	b := blobs(t, openCleanup(t), "blobs")

	big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16) // several chunks
	tests := []struct {
		name string
		data []byte
	}{
		{"small", []byte("hello")},
		{"empty", []byte{}},
		{"big", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, err := b.Has(ctx, tt.name); err != nil || ok {
				t.Fatalf("Has before Put = %v, %v", ok, err)
			}
			if _, err := b.Get(ctx, tt.name); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get before Put: %v, want ErrNotFound", err)
			}
			if err := b.Put(ctx, tt.name, tt.data); err != nil {
				t.Fatal(err)
			}
			if ok, err := b.Has(ctx, tt.name); err != nil || !ok {
				t.Fatalf("Has after Put = %v, %v", ok, err)
			}
			got, err := b.Get(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Fatalf("Get returned %d bytes, want the %d stored", len(got), len(tt.data))
			}
		})
	}

	// Storing a name again replaces it.
	if err := b.Put(ctx, "small", []byte("replaced")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "small"); err != nil || string(got) != "replaced" {
		t.Fatalf("after replacing: %q, %v", got, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	n := open(t, dir)
	rev, err := kv(t, n, "persist").Create(ctx, "k", []byte("durable"))
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs(t, n, "persist-blobs").Put(ctx, "blob", []byte("module bytes")); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	n = open(t, dir)
	defer n.Close()
	b := kv(t, n, "persist")
	if err := expectEntry(ctx, b, "k", "durable", rev); err != nil {
		t.Fatalf("after re-open: %v", err)
	}
	if _, err := b.Update(ctx, "k", []byte("x"), rev); err != nil {
		t.Errorf("the revision read back must still be current: %v", err)
	}
	got, err := blobs(t, n, "persist-blobs").Get(ctx, "blob")
	if err != nil || string(got) != "module bytes" {
		t.Fatalf("blob after re-open: %q, %v", got, err)
	}
}

// startServer runs a NATS server on a random loopback port until the test
// ends.
func startServer(t *testing.T, jetStream bool) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: jetStream,
		NoLog:     true,
		NoSigs:    true,
	}
	if jetStream {
		opts.StoreDir = t.TempDir()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv
}

func TestExternalServer(t *testing.T) {
	srv := startServer(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := store.Open(ctx, store.Options{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	if n.Embedded() {
		t.Error("Embedded() with a URL")
	}
	b := kv(t, n, "external")
	rev, err := b.Create(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if err := expectEntry(ctx, b, "k", "v", rev); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, "k", []byte("v")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create existing: %v, want ErrExists", err)
	}
	bl := blobs(t, n, "external-blobs")
	if err := bl.Put(ctx, "x", []byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing a client of an external server leaves the server alone, and
	// what it stored is there for the next client.
	if !srv.Running() {
		t.Fatal("Close stopped the external server")
	}
	n, err = store.Open(ctx, store.Options{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := expectEntry(ctx, kv(t, n, "external"), "k", "v", rev); err != nil {
		t.Fatal(err)
	}
	if got, err := blobs(t, n, "external-blobs").Get(ctx, "x"); err != nil || string(got) != "data" {
		t.Fatalf("blob: %q, %v", got, err)
	}
}

// TestNewest: the bucket's most recently written current entries, oldest
// first, whatever was written again or deleted, and whether older ones are
// left.
func TestNewest(t *testing.T) {
	n := openCleanup(t)
	ctx := context.Background()
	kv, err := n.KV(ctx, "newest")
	if err != nil {
		t.Fatal(err)
	}
	newest := func(want int) ([]string, bool) {
		t.Helper()
		var keys []string
		more, err := kv.Newest(ctx, want, func(e store.Entry) error {
			keys = append(keys, e.Key+"="+string(e.Value))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys, more
	}
	if keys, more := newest(3); len(keys) != 0 || more {
		t.Errorf("an empty bucket: %v, more %v", keys, more)
	}
	for _, kv1 := range [][2]string{{"a", "1"}, {"b", "1"}, {"c", "1"}, {"a", "2"}, {"a", "3"}, {"d", "1"}} {
		if _, err := kv.Put(ctx, kv1[0], []byte(kv1[1])); err != nil {
			t.Fatal(err)
		}
	}
	e, err := kv.Get(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "b", e.Revision); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		n    int
		want string
		more bool
	}{
		{1, "d=1", true},
		{2, "a=3 d=1", true},
		{3, "c=1 a=3 d=1", false},
		{10, "c=1 a=3 d=1", false},
	} {
		keys, more := newest(tt.n)
		if got := strings.Join(keys, " "); got != tt.want || more != tt.more {
			t.Errorf("Newest(%d) = %q, more %v; want %q, more %v", tt.n, got, more, tt.want, tt.more)
		}
	}
}
