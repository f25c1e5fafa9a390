package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BlobInfo describes one stored blob without reading it.
type BlobInfo struct {
	Name string
	Size int64
	// ModTime is when the blob was last stored, by the server's clock.
	ModTime time.Time
}

// List returns every stored blob, sorted by name. Deleted blobs are not
// listed. Its cost grows with the number of blobs: it reads the metadata of
// each, not the data.
func (b *Blobs) List(ctx context.Context) ([]BlobInfo, error) {
	objs, err := b.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	out := make([]BlobInfo, 0, len(objs))
	for _, o := range objs {
		if o == nil || o.Deleted {
			continue
		}
		out = append(out, BlobInfo{Name: o.Name, Size: int64(o.Size), ModTime: o.ModTime})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes blob name, or returns ErrNotFound if it is not stored.
func (b *Blobs) Delete(ctx context.Context, name string) error {
	if _, err := b.obs.GetInfo(ctx, name); errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("blob %s: %w", name, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("blob info: %w", err)
	}
	err := b.obs.Delete(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("blob %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}
