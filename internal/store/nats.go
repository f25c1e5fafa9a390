// Package store is pave's persistence: NATS JetStream key-value buckets for
// records and an object store for module blobs, either on a NATS server
// embedded in the process or on an external one.
//
// The embedded server has no network listener (clients connect in-process),
// keeps its file store under the data directory and fsyncs every write:
// JetStream's default is to sync on an interval, which can lose writes that
// were already acknowledged if the machine loses power. Callers see the same
// KV and Blobs types whichever server is behind them.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options selects and configures the NATS server.
type Options struct {
	// URL of an external NATS server; empty embeds one.
	URL string
	// DataDir is where the embedded server keeps its JetStream files
	// (DataDir/jetstream).
	DataDir string
	// Replicas is how many copies the server keeps of every stream,
	// bucket and object store opened through this connection; 0 means 1.
	// Opening one that exists with another number changes it (logged).
	Replicas int
	// Logger receives connection events.
	Logger *slog.Logger
}

// NATS is an open connection to JetStream, owning the embedded server if
// there is one.
type NATS struct {
	// opened are the streams Check asks about.
	opened streams
	// startBy ends the time in which opening waits for JetStream.
	startBy time.Time

	srv *server.Server // nil when external
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	// replicas of what this connection opens (Options.Replicas).
	replicas int
	// blobAckWait bounds each acknowledgement of a blob's write.
	blobAckWait time.Duration
}

// Open starts the embedded server (when opts.URL is empty) or connects to
// opts.URL, and returns once JetStream answers.
func Open(ctx context.Context, opts Options) (*NATS, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &NATS{log: log, replicas: max(opts.Replicas, 1), blobAckWait: blobAckWait}
	connOpts := []nats.Option{
		nats.Name("pave"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected") }),
		// Asynchronous errors (a watch whose consumer went away while
		// shutting down, a slow consumer) go to the log, not to stderr.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Debug("nats async error", "subject", subject, "err", err)
		}),
	}
	url := opts.URL
	if url == "" {
		srv, err := startEmbedded(opts.DataDir)
		if err != nil {
			return nil, err
		}
		n.srv = srv
		connOpts = append(connOpts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, connOpts...)
	if err != nil {
		n.shutdownServer()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	n.nc = nc
	if max := nc.MaxPayload(); max < MaxPayload {
		log.Warn("the nats server's max_payload is below what pave stores: 1 MiB values and events will be refused; set max_payload to at least 2MB",
			"max_payload", max)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	n.js = js
	n.startBy = time.Now().Add(StartWait)
	if err := n.await(ctx, "the account", func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	}); err != nil {
		n.Close()
		return nil, fmt.Errorf("jetstream is not available on the nats server: %w", err)
	}
	return n, nil
}

// MaxPayload is the largest message the embedded server accepts: room for
// pave's largest values (1 MiB key-value values and event data) with their
// headers. NATS's default of 1 MiB would refuse those; an external server
// needs max_payload of at least this much too.
const MaxPayload = 2 << 20

func startEmbedded(dataDir string) (*server.Server, error) {
	if dataDir == "" {
		return nil, errors.New("embedded nats needs a data directory")
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "pave-embedded",
		DontListen: true,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		SyncAlways: true,
		MaxPayload: MaxPayload,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats did not become ready within 30s")
	}
	return srv, nil
}

// Connected reports whether the connection to the server is up.
func (n *NATS) Connected() bool { return n.nc != nil && n.nc.IsConnected() }

// Embedded reports whether the server runs inside this process.
func (n *NATS) Embedded() bool { return n.srv != nil }

// KV opens (creating or updating) the key-value bucket name, keeping only the
// latest value of each key.
func (n *NATS) KV(ctx context.Context, name string) (*KV, error) {
	n.noteReplicas(ctx, kvStream(name))
	var kv jetstream.KeyValue
	err := n.await(ctx, "kv bucket "+name, func(ctx context.Context) (err error) {
		kv, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   name,
			History:  1,
			Storage:  jetstream.FileStorage,
			Replicas: n.replicas,
		})
		return err
	})
	if err != nil {
		return nil, n.openErr("kv bucket", name, err)
	}
	if kv, err = n.readsFromLeader(ctx, name, kv); err != nil {
		return nil, err
	}
	return n.ready(ctx, name, kv)
}

// ExpiringKV opens (creating or updating) the key-value bucket name whose
// values are removed ttl after they were last written.
func (n *NATS) ExpiringKV(ctx context.Context, name string, ttl time.Duration) (*KV, error) {
	n.noteReplicas(ctx, kvStream(name))
	var kv jetstream.KeyValue
	err := n.await(ctx, "kv bucket "+name, func(ctx context.Context) (err error) {
		kv, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   name,
			History:  1,
			TTL:      ttl,
			Storage:  jetstream.FileStorage,
			Replicas: n.replicas,
		})
		return err
	})
	if err != nil {
		return nil, n.openErr("kv bucket", name, err)
	}
	if kv, err = n.readsFromLeader(ctx, name, kv); err != nil {
		return nil, err
	}
	return n.ready(ctx, name, kv)
}

// readsFromLeader makes reads of the bucket name go to its stream's
// leader when the stream has replicas. A bucket allows direct gets, which
// every replica answers, the first to answer winning: one that has not yet
// applied a write reads as if it had not happened (a module uploaded a
// moment before its deploy was found missing on a three-server cluster).
// Without direct gets, a read is an API request the leader answers, after
// every write it acknowledged. With one replica there is no other copy to
// read, and direct gets stay.
func (n *NATS) readsFromLeader(ctx context.Context, name string, kv jetstream.KeyValue) (jetstream.KeyValue, error) {
	if n.replicas < 2 {
		return kv, nil
	}
	if err := n.noDirectGets(ctx, kvStream(name)); err != nil {
		return nil, fmt.Errorf("open kv bucket %s: %w", name, err)
	}
	kv, err := n.js.KeyValue(ctx, name) // bound again, to the stream as it is now
	if err != nil {
		return nil, fmt.Errorf("open kv bucket %s: %w", name, err)
	}
	return kv, nil
}

// noDirectGets turns direct gets off on stream.
func (n *NATS) noDirectGets(ctx context.Context, stream string) error {
	s, err := n.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cfg := s.CachedInfo().Config
	if !cfg.AllowDirect {
		return nil
	}
	cfg.AllowDirect = false
	_, err = n.js.UpdateStream(ctx, cfg)
	return err
}

// ready returns the bucket kv once its stream answers: on a cluster that
// has just formed it has no leader for a moment, and reads fail with "no
// responders" (see await).
func (n *NATS) ready(ctx context.Context, name string, kv jetstream.KeyValue) (*KV, error) {
	err := n.await(ctx, "bucket "+name, func(ctx context.Context) error {
		_, err := kv.Get(ctx, "pave-ready")
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open kv bucket %s: %w", name, unavailable(err))
	}
	n.opened.add("KV_" + name)
	return &KV{kv: kv, n: n}, nil
}

// Blobs opens (creating if needed) the object store bucket name.
func (n *NATS) Blobs(ctx context.Context, name string) (*Blobs, error) {
	n.noteReplicas(ctx, objectStream(name))
	// The object store's own JetStream context, whose default timeout
	// bounds each chunk's acknowledgement (Blobs.Put).
	js, err := jetstream.New(n.nc, jetstream.WithDefaultTimeout(n.blobAckWait))
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", name, err)
	}
	var obs jetstream.ObjectStore
	err = n.await(ctx, "object store "+name, func(ctx context.Context) (err error) {
		obs, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:   name,
			Storage:  jetstream.FileStorage,
			Replicas: n.replicas,
		})
		return err
	})
	if err != nil {
		return nil, n.openErr("object store", name, err)
	}
	if n.replicas > 1 { // reads from the leader, as for buckets (readsFromLeader)
		if err := n.noDirectGets(ctx, objectStream(name)); err != nil {
			return nil, fmt.Errorf("open object store %s: %w", name, err)
		}
		if obs, err = js.ObjectStore(ctx, name); err != nil {
			return nil, fmt.Errorf("open object store %s: %w", name, err)
		}
	}
	stream, err := n.js.Stream(ctx, objectStream(name))
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", name, err)
	}
	n.opened.add(objectStream(name))
	return &Blobs{obs: obs, stream: stream, bucket: name, n: n, stall: n.blobAckWait}, nil
}

// kvStream is the stream behind the key-value bucket name.
func kvStream(name string) string { return "KV_" + name }

// noteReplicas logs when the stream exists with another number of
// replicas than this connection gives what it opens: opening it changes
// the number, and the server copies the stream to the new replicas in the
// background.
func (n *NATS) noteReplicas(ctx context.Context, stream string) {
	s, err := n.js.Stream(ctx, stream)
	if err != nil {
		return // a new one, or the open that follows reports the error
	}
	if have := s.CachedInfo().Config.Replicas; have != n.replicas {
		n.log.Info("changing the replicas of a stream", "stream", stream, "from", have, "to", n.replicas)
	}
}

// The server's error codes for more replicas than it can keep: on a
// server that is not clustered, and on a cluster with fewer servers.
const (
	errCodeNoPeers               jetstream.ErrorCode = 10005
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeReplicasNotSupported  jetstream.ErrorCode = 10074
)

// openErr is the error of opening a stream, bucket or object store; when
// the server cannot keep the replicas asked for, it says so.
func (n *NATS) openErr(what, name string, err error) error {
	var api *jetstream.APIError
	if n.replicas > 1 && errors.As(err, &api) &&
		(api.ErrorCode == errCodeNoPeers || api.ErrorCode == errCodeReplicasNotSupported || api.ErrorCode == errCodeInsufficientResources) {
		return fmt.Errorf("open %s %s: --replicas %d needs a NATS cluster of at least %d JetStream servers: %w", what, name, n.replicas, n.replicas, err)
	}
	return fmt.Errorf("open %s %s: %w", what, name, err)
}

// Close drains the connection and stops the embedded server, waiting for it
// to flush its files.
func (n *NATS) Close() error {
	var err error
	if n.nc != nil {
		err = n.nc.Drain()
		// Drain is asynchronous; wait for it so pending publishes land.
		for i := 0; i < 100 && !n.nc.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		n.nc.Close()
	}
	n.shutdownServer()
	return err
}

func (n *NATS) shutdownServer() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}
