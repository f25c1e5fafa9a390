package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig describes a JetStream stream of messages: its name, the
// subjects it captures and how long it keeps them.
type StreamConfig struct {
	Name     string
	Subjects []string
	// MaxAge and MaxBytes bound what the stream keeps; the oldest messages
	// go first. Zero means no bound.
	MaxAge   time.Duration
	MaxBytes int64
	// MaxMsgSize is the largest message the stream accepts.
	MaxMsgSize int32
	// Duplicates is the window in which a message id seen before is not
	// stored again.
	Duplicates time.Duration
	// WorkQueue makes the stream a queue: a message is removed once its
	// consumer acknowledges it, and only one consumer may take each
	// subject. The server forgets the ids of removed messages when it
	// restarts, so a work queue's duplicate window does not survive one.
	WorkQueue bool
	// DiscardNew refuses new messages when the stream is at MaxBytes,
	// instead of discarding the oldest: for streams whose messages are
	// promises.
	DiscardNew bool
	// AppendOnly makes the server refuse to delete a message or purge
	// the stream; the limits above still remove the oldest. Once set on a
	// stream, the server never lets it be unset.
	AppendOnly bool
}

// Stream is a JetStream stream that messages are published to.
type Stream struct {
	js     jetstream.JetStream
	stream jetstream.Stream
}

// Message is a message stored in a stream.
type Message struct {
	Subject  string
	Sequence uint64
	Header   map[string][]string
	Data     []byte
	Time     time.Time
}

// HeaderValue returns the first value of the header name, or "".
func (m Message) HeaderValue(name string) string {
	if v := m.Header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Stream opens (creating or updating) the stream described by cfg.
func (n *NATS) Stream(ctx context.Context, cfg StreamConfig) (*Stream, error) {
	discard := jetstream.DiscardOld
	if cfg.DiscardNew {
		discard = jetstream.DiscardNew
	}
	retention := jetstream.LimitsPolicy
	if cfg.WorkQueue {
		retention = jetstream.WorkQueuePolicy
	}
	n.noteReplicas(ctx, cfg.Name)
	var s jetstream.Stream
	err := n.await(ctx, "stream "+cfg.Name, func(ctx context.Context) (err error) {
		s, err = n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:       cfg.Name,
			Replicas:   n.replicas,
			Subjects:   cfg.Subjects,
			Storage:    jetstream.FileStorage,
			Retention:  retention,
			Discard:    discard,
			MaxAge:     cfg.MaxAge,
			MaxBytes:   orUnlimited(cfg.MaxBytes),
			MaxMsgSize: cfg.MaxMsgSize,
			Duplicates: cfg.Duplicates,
			DenyDelete: cfg.AppendOnly,
			DenyPurge:  cfg.AppendOnly,
		})
		return err
	})
	if err != nil {
		return nil, n.openErr("stream", cfg.Name, err)
	}
	n.opened.add(cfg.Name)
	return &Stream{js: n.js, stream: s}, nil
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// ErrDuplicate means a message with the same id was already stored within
// the stream's duplicate window; it was not stored again.
var ErrDuplicate = errors.New("duplicate message")

// Publish stores a message on subject and returns its sequence number once
// the server has acknowledged it (on the embedded server, after it reached
// the disk). id, if set, makes a second publish of the same id within the
// duplicate window a no-op that returns the first sequence and
// ErrDuplicate.
func (s *Stream) Publish(ctx context.Context, subject, id string, header map[string][]string, data []byte) (uint64, error) {
	msg := &nats.Msg{Subject: subject, Header: nats.Header(header), Data: data}
	var opts []jetstream.PublishOpt
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if !s.js.Conn().IsConnected() {
		return 0, fmt.Errorf("publish to %s: %w: the connection to nats is down", subject, ErrUnavailable)
	}
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return 0, fmt.Errorf("publish to %s: %w", subject, unavailable(err))
	}
	if ack.Duplicate {
		return ack.Sequence, ErrDuplicate
	}
	return ack.Sequence, nil
}

// Last returns the newest message stored on subject, or ErrNotFound.
func (s *Stream) Last(ctx context.Context, subject string) (Message, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, subject)
	return stored(m, err, "no message on %s", "read %s", subject)
}

// stored returns m, a message read by sequence or subject, or its error:
// ErrNotFound for a message that is not there, and err otherwise, each
// after its format (none or reading) of which.
func stored(m *jetstream.RawStreamMsg, err error, none, reading string, which any) (Message, error) {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Message{}, fmt.Errorf(none+": %w", which, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf(reading+": %w", which, unavailable(err))
	}
	return Message{Subject: m.Subject, Sequence: m.Sequence, Header: m.Header, Data: m.Data, Time: m.Time}, nil
}

// Count returns how many messages the stream holds.
func (s *Stream) Count(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", unavailable(err))
	}
	return info.State.Msgs, nil
}
