package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ScanOptions select the messages Scan delivers.
type ScanOptions struct {
	// Subjects filter the messages; empty means every subject of the
	// stream. Wildcards are allowed.
	Subjects []string
	// Since delivers messages stored at or after it; zero means from the
	// first.
	Since time.Time
	// Follow keeps delivering new messages until ctx ends; without it,
	// Scan returns once it has delivered the messages stored when it
	// started.
	Follow bool
}

// errStopScan is returned by a Scan callback to end the scan early
// without an error; see StopScan.
var errStopScan = errors.New("stop scan")

// StopScan is what a Scan callback returns to stop early: Scan then
// returns nil.
func StopScan() error { return errStopScan }

// Scan delivers the stream's messages that match opts to fn, oldest first,
// through an ordered consumer that the server deletes afterwards. An error
// from fn ends the scan and is returned (StopScan ends it quietly).
func (s *Stream) Scan(ctx context.Context, opts ScanOptions, fn func(Message) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: opts.Subjects, InactiveThreshold: time.Minute}
	switch {
	case !opts.Since.IsZero():
		since := opts.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	default:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := s.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if !opts.Follow {
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if info.NumPending == 0 {
			return nil
		}
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				if opts.Follow {
					return nil // following ends with its context
				}
				return ctx.Err()
			}
			return fmt.Errorf("scan: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		msg := Message{Subject: m.Subject(), Sequence: meta.Sequence.Stream, Header: m.Headers(), Data: m.Data(), Time: meta.Timestamp}
		if err := fn(msg); err != nil {
			if errors.Is(err, errStopScan) {
				return nil
			}
			return err
		}
		if !opts.Follow && meta.NumPending == 0 {
			return nil
		}
	}
}
