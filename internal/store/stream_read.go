package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrWrongLastSequence means a PublishAfter was refused because the stream's
// last sequence number was not the one expected: someone else published
// first (or the expected message never existed). Nothing was stored.
var ErrWrongLastSequence = errors.New("wrong last sequence")

// PublishAfter stores data on subject only if the last message the stream
// ever stored (on any subject, whether or not it has since been deleted)
// has sequence number lastSeq, 0 meaning an empty stream that never held a
// message. The new message then has sequence lastSeq+1, which is returned.
// Otherwise it stores nothing and returns an error matching
// ErrWrongLastSequence. This is JetStream's compare-and-set on the whole
// stream: several writers can keep one ordered log.
func (s *Stream) PublishAfter(ctx context.Context, subject string, lastSeq uint64, data []byte) (uint64, error) {
	msg := &nats.Msg{Subject: subject, Data: data}
	if !s.js.Conn().IsConnected() {
		return 0, fmt.Errorf("publish to %s: %w: the connection to nats is down", subject, ErrUnavailable)
	}
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequence(lastSeq))
	if isWrongLastSequence(err) {
		return 0, fmt.Errorf("publish to %s after %d: %w (%v)", subject, lastSeq, ErrWrongLastSequence, err)
	}
	if err != nil {
		return 0, fmt.Errorf("publish to %s: %w", subject, unavailable(err))
	}
	return ack.Sequence, nil
}

// isWrongLastSequence reports whether err is the server's refusal of an
// expected last sequence. Replicated streams report it with a different
// code (10164) than single-replica ones (10071).
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// readBatch is how many messages ReadFrom asks the server for at a time.
const readBatch = 64

// consumerInterestWait is how long ReadFrom sends a fetch again that no
// server answered, waiting for its consumer's interest to reach the server
// it is connected to.
const consumerInterestWait = 2 * time.Second

// ReadFrom calls fn with every message of the stream whose sequence number
// is start or later, in sequence order, up to the last message stored when
// ReadFrom was called; then it returns. Messages stored later are not
// delivered, so ReadFrom always ends. Deleted messages are skipped: their
// sequence numbers are missing from what fn sees, which is how a caller
// detects them. start 0 is the same as 1. An error from fn ends the read
// and is returned.
//
// It reads through an ephemeral consumer that it deletes afterwards (the
// server also removes it after a minute of inactivity).
func (s *Stream) ReadFrom(ctx context.Context, start uint64, fn func(Message) error) error {
	if start == 0 {
		start = 1
	}
	info, err := s.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", unavailable(err))
	}
	end := info.State.LastSeq
	if info.State.Msgs == 0 || end < start || end < info.State.FirstSeq {
		return nil
	}
	cons, err := s.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", info.Config.Name, err)
	}
	defer func() {
		// Not ctx: the consumer should go even when ctx has ended.
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.js.DeleteConsumer(dctx, info.Config.Name, cons.CachedInfo().Name)
	}()
	// On a cluster the consumer may live on another server than the one
	// this connection is to, and the consumer's interest reaches this one
	// over a route a moment after it was created: a fetch sent before is
	// answered "no responders" (about 2 reads in 100 on a three-server
	// cluster on loopback, TestReadFromCluster). The fetch is sent again
	// until notHereBy.
	notHereBy := time.Now().Add(consumerInterestWait)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := cons.FetchNoWait(readBatch)
		if err != nil {
			return fmt.Errorf("read %s: %w", info.Config.Name, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: %w", info.Config.Name, err)
			}
			seq := meta.Sequence.Stream
			if seq > end {
				return nil
			}
			msg := Message{Subject: m.Subject(), Sequence: seq, Header: m.Headers(), Data: m.Data(), Time: meta.Timestamp}
			if err := fn(msg); err != nil {
				return err
			}
			if seq == end {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			if got == 0 && errors.Is(err, nats.ErrNoResponders) && time.Now().Before(notHereBy) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("read %s: %w", info.Config.Name, err)
		}
		if got == 0 {
			// Nothing left to deliver: the messages up to end were
			// deleted while we read.
			return nil
		}
	}
}

// LastMessage returns the newest message stored in the stream, whatever
// its subject, or ErrNotFound if the stream holds none.
func (s *Stream) LastMessage(ctx context.Context) (Message, error) {
	// It asks for the last message of each of the stream's subjects: the
	// server answers a request for the last message on ">" with the
	// message at the stream's last sequence, which is not found once that
	// message was deleted, even when older ones remain.
	var last Message
	found := false
	for _, subject := range s.stream.CachedInfo().Config.Subjects {
		m, err := s.Last(ctx, subject)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Message{}, err
		}
		if !found || m.Sequence > last.Sequence {
			last, found = m, true
		}
	}
	if !found {
		return Message{}, fmt.Errorf("no message in the stream: %w", ErrNotFound)
	}
	return last, nil
}

// LastSequence returns the sequence number of the last message the stream
// ever stored, 0 if none. It is past the newest message LastMessage returns
// when the newest messages were deleted: JetStream never reuses a sequence
// number, and it is what PublishAfter compares with.
func (s *Stream) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", unavailable(err))
	}
	return info.State.LastSeq, nil
}

// DeleteMessage removes the message with sequence number seq. Its sequence
// number is not reused.
func (s *Stream) DeleteMessage(ctx context.Context, seq uint64) error {
	if err := s.stream.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("delete message %d: %w", seq, err)
	}
	return nil
}

// Get returns the message with sequence number seq, or ErrNotFound.
func (s *Stream) Get(ctx context.Context, seq uint64) (Message, error) {
	m, err := s.stream.GetMsg(ctx, seq)
	return stored(m, err, "message %d", "read message %d", seq)
}
