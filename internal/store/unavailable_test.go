package store_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-dev/pave/internal/store"
)

// external runs a NATS server with JetStream and connects to it; the
// connection is closed, then the server stopped, when the test ends.
func external(t *testing.T) (*server.Server, *store.NATS) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	n, err := store.Open(context.Background(), store.Options{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return srv, n
}

// TestOutageFailsFast checks that every call on a bucket fails within a
// few seconds with ErrUnavailable, however long its context, while the
// server is down or has no JetStream, and that Check says which part is
// down.
func TestOutageFailsFast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		outage        func(*server.Server)
		connected, js bool
		only          []string // the calls checked, if not all
	}{
		{"server down", func(s *server.Server) { s.Shutdown(); s.WaitForShutdown() }, false, false, nil},
		{"jetstream off", func(s *server.Server) {
			if err := s.DisableJetStream(); err != nil {
				t.Error(err)
			}
		}, true, false, nil},
		// The server holding the stream is gone but the cluster still
		// takes requests, which nobody answers: each call waits for its
		// bound, not for its context.
		{"requests unanswered", func(s *server.Server) {
			if err := s.DisableJetStream(); err != nil {
				t.Error(err)
			}
			nc, err := nats.Connect(s.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			if _, err := nc.Subscribe("$JS.API.>", func(*nats.Msg) {}); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		}, true, false, []string{"Get", "Keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, n := external(t)
			ctx := context.Background()
			b, err := n.KV(ctx, "outage")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Put(ctx, "a", []byte("1")); err != nil {
				t.Fatal(err)
			}
			blobs, err := n.Blobs(ctx, "outage")
			if err != nil {
				t.Fatal(err)
			}
			events, err := n.Stream(ctx, store.StreamConfig{Name: "outage", Subjects: []string{"outage.>"}})
			if err != nil {
				t.Fatal(err)
			}
			if h := n.Check(ctx); !h.OK() || len(h.Down) != 0 {
				t.Fatalf("Check before the outage: %+v", h)
			}
			tc.outage(srv)
			// A request sent before the client sees the connection go is
			// bounded by its own timeout (KV's 5s; a blob's transfer by
			// the caller's deadline): the calls below start once it has.
			for deadline := time.Now().Add(5 * time.Second); n.Connected() != tc.connected && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			calls := map[string]func(context.Context) error{
				"Get":     func(ctx context.Context) error { _, err := b.Get(ctx, "a"); return err },
				"Put":     func(ctx context.Context) error { _, err := b.Put(ctx, "a", []byte("2")); return err },
				"Create":  func(ctx context.Context) error { _, err := b.Create(ctx, "b", []byte("2")); return err },
				"Keys":    func(ctx context.Context) error { _, _, err := b.Keys(ctx, "", 10); return err },
				"BlobPut": func(ctx context.Context) error { return blobs.Put(ctx, "x", []byte("blob")) },
				"Publish": func(ctx context.Context) error {
					_, err := events.Publish(ctx, "outage.x", "", nil, []byte("e"))
					return err
				},
			}
			for name, call := range calls {
				if tc.only != nil && !slices.Contains(tc.only, name) {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				began := time.Now()
				err := call(ctx)
				cancel()
				t.Logf("%s: %s", name, time.Since(began))
				if took := time.Since(began); took > 7*time.Second {
					t.Errorf("%s took %s", name, took)
				}
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s: %v, want ErrUnavailable", name, err)
				}
				var o interface{ Unavailable() bool }
				if !errors.As(err, &o) || !o.Unavailable() {
					t.Errorf("%s: %v does not report Unavailable()", name, err)
				}
			}
			h := n.Check(ctx)
			if h.OK() || h.Connected != tc.connected || h.JetStream != tc.js {
				t.Errorf("Check during the outage: %+v, want connected %v, jetstream %v", h, tc.connected, tc.js)
			}
		})
	}
}

// TestOpenWaitsForJetStream opens a connection to a server whose
// JetStream is not up yet, as on a cluster that has just formed: Open
// waits, logging, and succeeds once JetStream answers.
func TestOpenWaitsForJetStream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	logs := &strings.Builder{}
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	go func() {
		time.Sleep(700 * time.Millisecond)
		if err := srv.EnableJetStream(&server.JetStreamConfig{StoreDir: dir}); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := store.Open(ctx, store.Options{URL: srv.ClientURL(), Logger: log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer n.Close()
	if _, err := n.KV(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "waiting for jetstream") {
		t.Errorf("Open did not log its wait:\n%s", logs)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestBlobPutRefusedWhenAcknowledgementsAreLost writes a blob whose chunks
// reach a subscriber that never acknowledges them, as when the server
// holding the object store dies while the connection stays up through
// another: the write is refused as unavailable once a chunk's
// acknowledgement is overdue, not when the caller's minute runs out.
func TestBlobPutRefusedWhenAcknowledgementsAreLost(t *testing.T) {
	t.Parallel()
	srv, n := external(t)
	ctx := context.Background()
	n.SetBlobAckWait(time.Second)
	blobs, err := n.Blobs(ctx, "lost")
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, "before", []byte("stored")); err != nil {
		t.Fatal(err)
	}

	// The stream keeps its metadata subject, so the write's first look
	// at the object is answered; its chunks go to a subscriber instead.
	nc, js, s := clientOf(t, srv.ClientURL(), "OBJ_lost")
	cfg := s.CachedInfo().Config
	cfg.Subjects = []string{"$O.lost.M.>"}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe("$O.lost.C.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	began := time.Now()
	err = blobs.Put(ctx, "after", make([]byte, 300<<10))
	took := time.Since(began)
	t.Logf("refused after %s: %v", took, err)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Put: %v, want ErrUnavailable", err)
	}
	if took > 10*time.Second {
		t.Errorf("Put took %s; each acknowledgement is bounded by 1s", took)
	}
}

// TestBlobGetEndsWhenItsChunksStop reads a blob whose chunks are gone, so
// that the read's consumer waits for chunks that never come, as one did
// while a cluster changed the stream's replicas: the read must end after
// the stall bound, as unavailable, and at once when its context ends;
// nats.go alone waits for the context's deadline.
func TestBlobGetEndsWhenItsChunksStop(t *testing.T) {
	t.Parallel()
	srv, n := external(t)
	ctx := context.Background()
	const stall = 500 * time.Millisecond
	n.SetBlobAckWait(stall)
	blobs, err := n.Blobs(ctx, "stalled")
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, "module", make([]byte, 300<<10)); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Get(ctx, "module"); err != nil {
		t.Fatalf("Get before the chunks are gone: %v", err)
	}
	_, _, s := clientOf(t, srv.ClientURL(), "OBJ_stalled")
	if err := s.Purge(ctx, jetstream.WithPurgeSubject("$O.stalled.C.>")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	began := time.Now()
	_, err = blobs.Get(ctx, "module")
	took := time.Since(began)
	t.Logf("stalled read ended after %s: %v", took, err)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get: %v, want ErrUnavailable", err)
	}
	if took > 10*stall {
		t.Errorf("Get took %s; a stall is bounded by %s", took, stall)
	}

	short, stop := context.WithCancel(ctx)
	time.AfterFunc(stall/5, stop)
	began = time.Now()
	_, err = blobs.Get(short, "module")
	took = time.Since(began)
	if !errors.Is(err, context.Canceled) || took >= stall {
		t.Errorf("Get with its context cancelled after %s: %v after %s, want context.Canceled before the stall bound", stall/5, err, took)
	}
}

// clientOf connects a client of its own to the server at url, as an
// operator (or an attacker) with access to the server would, and returns
// it with its JetStream context and the stream name.
func clientOf(t *testing.T, url, stream string) (*nats.Conn, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, s
}
