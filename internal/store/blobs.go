package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Blobs is a JetStream object store holding immutable byte blobs by name.
type Blobs struct {
	obs jetstream.ObjectStore
	// stream is the object store's stream, which List reads directly.
	stream jetstream.Stream
	bucket string
	n      *NATS // for down
	// stall bounds the wait for the next part of a blob being read.
	stall time.Duration
}

// down returns ErrUnavailable while the connection to NATS is down: a
// transfer would otherwise wait for blobTimeout.
func (b *Blobs) down() error {
	if b.n != nil && !b.n.Connected() {
		return fmt.Errorf("%w: object store %s: the connection to nats is down", ErrUnavailable, b.bucket)
	}
	return nil
}

// blobTimeout bounds a blob's write or read when the caller's context sets
// no deadline. Without one, JetStream gives the whole transfer its default
// of 5 s, which is meant for one API request: a module of tens of MiB,
// written or read chunk by chunk on a loaded machine, failed a deploy with
// "nats: timeout" that way.
const blobTimeout = 2 * time.Minute

// blobAckWait bounds the wait for the server's acknowledgement of each
// chunk of a blob being written, counted from the chunk's sending, and the
// wait for the next chunk of a blob being read (Blobs.read). nats.go
// sets such a bound only when the write's context has no deadline; with
// one, a chunk whose acknowledgement is lost (the server holding the
// object store was killed while the connection stayed up through another)
// held the write until the deadline: a module upload waited out
// blobTimeout instead of being refused as unavailable.
const blobAckWait = 20 * time.Second

// bounded returns ctx with blobTimeout as its deadline if it has none.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, blobTimeout)
}

// Put stores data under name. Storing the same name twice replaces it; the
// registry names blobs by their digest, so a replacement is identical.
//
// The write runs under a context without a deadline, ended instead by
// ctx or blobTimeout, whichever comes first, so that nats.go bounds each
// chunk's acknowledgement by the object store's default timeout
// (blobAckWait).
func (b *Blobs) Put(ctx context.Context, name string, data []byte) error {
	if err := b.down(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	limit := blobTimeout
	if d, ok := ctx.Deadline(); ok {
		limit = time.Until(d)
	}
	timer := time.AfterFunc(limit, cancel)
	defer timer.Stop()
	if _, err := b.obs.PutBytes(wctx, name, data); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w after %s", context.DeadlineExceeded, limit.Round(time.Millisecond))
		}
		return fmt.Errorf("put blob: %w", unavailable(err))
	}
	return nil
}

// Get returns the blob name, or ErrNotFound.
//
// A read that ends with chunks missing is made again, a few times: on a
// replicated object store, the read right after a write can be served by
// a server that has not applied every chunk yet, and nats.go then reports
// a digest mismatch (seen in 2 of 11 starts of a three-server cluster,
// deploying right after the upload). A blob's content never changes under
// its name, so a mismatch that stays is the store's corruption, reported
// as an error.
func (b *Blobs) Get(ctx context.Context, name string) ([]byte, error) {
	if err := b.down(); err != nil {
		return nil, err
	}
	ctx, cancel := bounded(ctx)
	defer cancel()
	data, err := b.read(ctx, name)
	for pause := 20 * time.Millisecond; errors.Is(err, jetstream.ErrDigestMismatch) && pause <= 640*time.Millisecond; pause *= 2 {
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, fmt.Errorf("get blob: %w", unavailable(ctx.Err()))
		}
		data, err = b.read(ctx, name)
	}
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("blob %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", unavailable(err))
	}
	return data, nil
}

// read reads blob name once. nats.go waits for each chunk of an object
// until the read's deadline, whatever else happens: neither ctx's end nor
// a consumer that stopped delivering ends the wait sooner. A read whose
// chunks stopped while a cluster changed the stream's replicas held a
// node's shutdown for two minutes (blobTimeout) that way, as it would hold
// the first call of the function being loaded. So the read runs in a
// goroutine of its own, and read returns when ctx ends or when no chunk
// came for b.stall; the goroutine ends at ctx's deadline at the latest.
func (b *Blobs) read(ctx context.Context, name string) ([]byte, error) {
	res, err := b.obs.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	var (
		got  atomic.Int64 // bytes read so far
		done = make(chan struct{})
		data []byte
		rerr error
	)
	go func() {
		defer close(done)
		defer res.Close()
		var buf bytes.Buffer
		p := make([]byte, 64<<10)
		for {
			n, err := res.Read(p)
			buf.Write(p[:n])
			got.Add(int64(n))
			if errors.Is(err, io.EOF) {
				data = buf.Bytes()
				return
			}
			if err != nil {
				rerr = err
				return
			}
		}
	}()
	check := time.NewTicker(max(b.stall/8, time.Millisecond))
	defer check.Stop()
	last, since := int64(0), time.Now()
	for {
		select {
		case <-done:
			return data, rerr
		case <-ctx.Done():
			return nil, ctx.Err()
		case now := <-check.C:
			if n := got.Load(); n != last {
				last, since = n, now
			} else if now.Sub(since) >= b.stall {
				return nil, fmt.Errorf("%w: object store %s: no part of %s came for %s", ErrUnavailable, b.bucket, name, b.stall)
			}
		}
	}
}

// Has reports whether blob name is stored.
func (b *Blobs) Has(ctx context.Context, name string) (bool, error) {
	if err := b.down(); err != nil {
		return false, err
	}
	_, err := b.obs.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob info: %w", unavailable(err))
	}
	return true, nil
}
