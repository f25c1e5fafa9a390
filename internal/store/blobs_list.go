package store

import (
	"context"
	"encoding/json"
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
// listed, nor blobs stored after List began. Its cost grows with the number
// of blobs: it reads the metadata of each, not the data.
//
// It does not use the object store's own listing, which follows a consumer
// until the server reports nothing pending: while objects are replaced and
// deleted concurrently that report can stay above zero with nothing left to
// deliver, and the listing then waits forever (garbage collection running
// beside deploys met exactly that). Instead it asks the stream which
// metadata subjects exist, one per object name, and reads the last message
// of each.
func (b *Blobs) List(ctx context.Context) ([]BlobInfo, error) {
	info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(objectMetaSubjects(b.bucket)))
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	out := make([]BlobInfo, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		m, err := b.stream.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // purged since the stream was asked
		}
		if err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
		var meta jetstream.ObjectInfo
		if err := json.Unmarshal(m.Data, &meta); err != nil {
			return nil, fmt.Errorf("list blobs: metadata on %s: %w", subject, err)
		}
		if meta.Deleted {
			continue
		}
		out = append(out, BlobInfo{Name: meta.Name, Size: int64(meta.Size), ModTime: m.Time})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// objectStream and objectMetaSubjects name what a JetStream object store
// bucket is built from (the layout is part of the object store's
// specification, ADR-20): one stream, and under it one metadata subject per
// object.
func objectStream(bucket string) string       { return "OBJ_" + bucket }
func objectMetaSubjects(bucket string) string { return "$O." + bucket + ".M.>" }

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
