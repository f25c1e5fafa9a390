package daemon

import (
	"context"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/store"
)

// LastEvent returns the newest event stored on topic, for tests that check
// what functions published.
func (d *Daemon) LastEvent(ctx context.Context, topic string) (store.Message, error) {
	return d.topics.Last(ctx, topic)
}

// FlushHistory writes the queued invocation records now.
func (d *Daemon) FlushHistory(ctx context.Context) error { return d.history.Flush(ctx) }

// QuarantineUnused runs the auto-quarantine policy as if it were now.
func (d *Daemon) QuarantineUnused(ctx context.Context, now time.Time, after time.Duration) []string {
	return d.quarantineUnused(ctx, now, after)
}

// DeleteAuditRecord deletes record seq from the audit stream, as an
// attacker with access to the store would.
func (d *Daemon) DeleteAuditRecord(ctx context.Context, seq uint64) error {
	s, err := d.nats.Stream(ctx, audit.StreamConfig(audit.StreamOptions{}))
	if err != nil {
		return err
	}
	return s.DeleteMessage(ctx, seq)
}
