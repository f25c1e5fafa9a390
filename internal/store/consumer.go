package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerConfig describes a durable consumer: a named position in a
// stream that the server keeps across restarts, delivering each message
// until it is acknowledged.
type ConsumerConfig struct {
	// Name is the durable name; it must be unique within the stream.
	Name string
	// Subjects filter the messages; empty means every subject.
	Subjects []string
	// AckWait is how long a delivered message may go unacknowledged before
	// the server delivers it again. Consume tells the server a message is
	// still in progress every AckWait/3 while its handler runs, so a long
	// handler is not redelivered; a process that dies stops doing so, and
	// its messages come back after AckWait. Zero means 30 seconds.
	AckWait time.Duration
	// Workers is how many messages are handled at once; zero means one.
	Workers int
	// StartTime, if set, starts a new consumer at the messages stored at
	// or after it, rather than at the first message the stream holds. It
	// has no effect on a consumer that exists already.
	StartTime time.Time
}

// A Delivery is one delivery of a message to a handler.
type Delivery struct {
	Message
	// Attempt counts the deliveries of this message: 1 the first time.
	Attempt int
}

// A Disposition is what a handler decided about a delivery.
type Disposition struct {
	retry bool
	delay time.Duration
}

// Done acknowledges a delivery: the message is not delivered again.
func Done() Disposition { return Disposition{} }

// RetryAfter asks for the message again after delay.
func RetryAfter(delay time.Duration) Disposition {
	return Disposition{retry: true, delay: delay}
}

// Handler handles one delivery. ctx ends when Consume is stopped; a handler
// that returns because of it should return RetryAfter, so that the message
// is delivered again.
type Handler func(ctx context.Context, d Delivery) Disposition

const defaultAckWait = 30 * time.Second

// maxAckPending bounds the messages a consumer has delivered and not yet
// settled, those waiting for a delayed redelivery included.
const maxAckPending = 1 << 16

// Consume delivers the messages of the durable consumer cfg describes
// (creating or updating it) to handle, up to cfg.Workers at a time, until
// ctx ends. It returns once every handler has returned. Each message is
// acknowledged only after its handler returns Done, and the server has
// confirmed the acknowledgement, so a message whose handling was cut short
// by a crash is delivered again: handlers must be idempotent.
func (s *Stream) Consume(ctx context.Context, cfg ConsumerConfig, handle Handler) error {
	cons, err := s.consumer(ctx, cfg)
	if err != nil {
		return err
	}
	workers := max(cfg.Workers, 1)
	ackWait := cfg.AckWait
	if ackWait <= 0 {
		ackWait = defaultAckWait
	}
	// Short-lived pull requests: a pull that the server leaves waiting
	// (seen with many delayed redeliveries pending) is replaced within
	// seconds rather than the default 30. A heartbeat missed because the
	// machine is busy is not an error: the iterator issues a new pull, as
	// it does when a pull expires, and Consume goes on.
	it, err := cons.Messages(jetstream.PullMaxMessages(workers), jetstream.PullExpiry(2*time.Second),
		jetstream.WithMessagesErrOnMissingHeartbeat(false))
	if err != nil {
		return fmt.Errorf("consume %s: %w", cfg.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msg, err := it.Next()
		if err != nil {
			<-sem
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consume %s: %w", cfg.Name, err)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			deliver(ctx, msg, ackWait, handle)
		}()
	}
}

// deliver runs handle on msg, keeping the message in progress meanwhile,
// and settles it as handle decided.
func deliver(ctx context.Context, msg jetstream.Msg, ackWait time.Duration, handle Handler) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing can settle it.
		return
	}
	d := Delivery{
		Message: Message{
			Subject: msg.Subject(), Sequence: meta.Sequence.Stream,
			Header: msg.Headers(), Data: msg.Data(), Time: meta.Timestamp,
		},
		Attempt: int(meta.NumDelivered),
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	disp := handle(ctx, d)
	close(done)
	if disp.retry {
		_ = msg.NakWithDelay(disp.delay)
		return
	}
	// A lost acknowledgement means one more delivery, which the handler
	// recognises; nothing else is lost.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = msg.DoubleAck(actx)
}

func (s *Stream) consumer(ctx context.Context, cfg ConsumerConfig) (jetstream.Consumer, error) {
	if cfg.Name == "" {
		return nil, errors.New("a durable consumer needs a name")
	}
	ackWait := cfg.AckWait
	if ackWait <= 0 {
		ackWait = defaultAckWait
	}
	cc := jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		FilterSubjects: cfg.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     -1,
		// Messages waiting out a delayed redelivery count as pending; a
		// small bound would let a few retries stall every other message.
		// Workers bounds what runs at once.
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if !cfg.StartTime.IsZero() {
		start := cfg.StartTime
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	if existing, err := s.stream.Consumer(ctx, cfg.Name); err == nil {
		// The start of an existing consumer cannot change; keep it.
		info := existing.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartTime = info.DeliverPolicy, info.OptStartTime
	}
	cons, err := s.stream.CreateOrUpdateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Name, err)
	}
	return cons, nil
}

// Consumers returns the names of the stream's durable consumers.
func (s *Stream) Consumers(ctx context.Context) ([]string, error) {
	var names []string
	l := s.stream.ConsumerNames(ctx)
	for name := range l.Name() {
		names = append(names, name)
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	return names, nil
}

// DeleteConsumer removes the durable consumer name; removing one that does
// not exist is not an error.
func (s *Stream) DeleteConsumer(ctx context.Context, name string) error {
	err := s.stream.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	return nil
}

// Pending returns how many of the stream's messages the consumer name has
// yet to deliver or to have acknowledged.
func (s *Stream) Pending(ctx context.Context, name string) (uint64, error) {
	c, err := s.stream.Consumer(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", name, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", name, err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}
