package audit

import (
	"context"
	"time"
)

// Events calls fn with every event in log recorded at or after since (zero:
// all), oldest first, skipping seals. Records that do not decode are
// skipped: reading is not verifying, Verify is. An error from fn ends it
// and is returned. It is what `pave audit log [--since]` prints; Record.JSON
// and the Event's JSON are its --json forms.
func Events(ctx context.Context, log Log, since time.Time, fn func(Event) error) error {
	return Records(ctx, log, 1, func(r Record) error {
		if r.Kind != KindEvent || r.Time.Before(since) {
			return nil
		}
		return fn(r.Event)
	})
}

// Records calls fn with every record of log from sequence number from on,
// events and seals, decoded, skipping those that do not decode. An error
// from fn ends it and is returned.
func Records(ctx context.Context, log Log, from uint64, fn func(Record) error) error {
	return log.Read(ctx, from, func(e Entry) error {
		r, err := DecodeRecord(e.Data)
		if err != nil || r.Seq != e.Seq {
			return nil
		}
		return fn(r)
	})
}
