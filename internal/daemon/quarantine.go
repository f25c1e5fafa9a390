package daemon

import (
	"context"
	"time"

	"github.com/pave-dev/pave/internal/registry"
)

// autoQuarantineInterval is how often the opt-in policy looks for
// functions unused for longer than --auto-quarantine-after.
const autoQuarantineInterval = time.Hour

// quarantineUnused runs the auto-quarantine policy (package registry),
// audits what it quarantined, and returns their names.
func (d *Daemon) quarantineUnused(ctx context.Context, now time.Time, after time.Duration) []string {
	var done []string
	for _, q := range d.reg.QuarantineUnused(ctx, d.usage, now, after) {
		if q.Err != nil {
			d.log.Warn("auto-quarantine failed", "function", q.Function, "err", q.Err)
			continue
		}
		d.auditAction(ctx, registry.AutoQuarantineBy, "function.quarantine", q.Function, "ok", "", map[string]string{"reason": q.Reason})
		done = append(done, q.Function)
	}
	return done
}
