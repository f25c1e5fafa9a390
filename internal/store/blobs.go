package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Blobs is a JetStream object store holding immutable byte blobs by name.
type Blobs struct {
	obs jetstream.ObjectStore
	// stream is the object store's stream, which List reads directly.
	stream jetstream.Stream
	bucket string
}

// Put stores data under name. Storing the same name twice replaces it; the
// registry names blobs by their digest, so a replacement is identical.
func (b *Blobs) Put(ctx context.Context, name string, data []byte) error {
	if _, err := b.obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// Get returns the blob name, or ErrNotFound.
func (b *Blobs) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := b.obs.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("blob %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	return data, nil
}

// Has reports whether blob name is stored.
func (b *Blobs) Has(ctx context.Context, name string) (bool, error) {
	_, err := b.obs.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob info: %w", err)
	}
	return true, nil
}
