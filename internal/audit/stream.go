package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// The JetStream layout of the audit log.
const (
	// StreamName is the stream that holds the records, one message each,
	// the stream sequence number being the record's.
	StreamName = "pave_audit"
	// Subject is the only subject of the stream.
	Subject = "pave.audit"
)

// StreamOptions bound what the audit stream keeps. Zero keeps everything:
// retention is the operator's decision. With a bound, the oldest records go
// first, and Verify must be told (VerifyOptions.Pruned).
type StreamOptions struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// StreamConfig is the configuration of the audit stream (file storage,
// the daemon's store). The stream is append-only: the server refuses to
// delete a record or purge the stream (deleting the whole stream is still
// possible for whoever administers NATS; the head shows it).
func StreamConfig(opts StreamOptions) store.StreamConfig {
	return store.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{Subject},
		MaxAge:     opts.MaxAge,
		MaxBytes:   opts.MaxBytes,
		MaxMsgSize: MaxRecordSize + 4<<10,
		AppendOnly: true,
	}
}

// StreamLog is a Log on a JetStream stream opened with StreamConfig. Several
// processes may append to one stream: JetStream's expected-last-sequence
// check keeps one chain.
type StreamLog struct {
	s *store.Stream
}

// NewStreamLog returns the Log on s.
func NewStreamLog(s *store.Stream) *StreamLog { return &StreamLog{s: s} }

// OpenStream opens (creating or updating) the audit stream on n.
func OpenStream(ctx context.Context, n *store.NATS, opts StreamOptions) (*StreamLog, error) {
	s, err := n.Stream(ctx, StreamConfig(opts))
	if err != nil {
		return nil, err
	}
	return NewStreamLog(s), nil
}

// Append implements Log.
func (l *StreamLog) Append(ctx context.Context, after uint64, data []byte) (uint64, error) {
	seq, err := l.s.PublishAfter(ctx, Subject, after, data)
	if errors.Is(err, store.ErrWrongLastSequence) {
		return 0, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return seq, err
}

// Read implements Log.
func (l *StreamLog) Read(ctx context.Context, from uint64, fn func(Entry) error) error {
	return l.s.ReadFrom(ctx, from, func(m store.Message) error {
		return fn(Entry{Seq: m.Sequence, Data: m.Data})
	})
}

// Last implements Log.
func (l *StreamLog) Last(ctx context.Context) (Entry, uint64, error) {
	// end first: the newest message is then at end or later. If it is
	// earlier, the messages between were deleted; if later, someone
	// appended in between, and the newest message is the end.
	end, err := l.s.LastSequence(ctx)
	if err != nil {
		return Entry{}, 0, err
	}
	m, err := l.s.LastMessage(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, end, nil
	}
	if err != nil {
		return Entry{}, 0, err
	}
	return Entry{Seq: m.Sequence, Data: m.Data}, max(end, m.Sequence), nil
}
