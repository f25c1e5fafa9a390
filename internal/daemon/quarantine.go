package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/registry"
)

// autoQuarantineInterval is how often the opt-in policy looks for
// functions unused for longer than --auto-quarantine-after.
const autoQuarantineInterval = time.Hour

// quarantineUnused quarantines every function that has not run since
// now - after (counting from its active version's deploy if it never ran
// since), and returns their names.
func (d *Daemon) quarantineUnused(ctx context.Context, now time.Time, after time.Duration) []string {
	var done []string
	for _, f := range d.reg.List() {
		if f.Quarantine != nil {
			continue
		}
		last := f.Current().DeployedAt
		if t, ok := d.usage.LastInvoked(f.Name); ok && t.After(last) {
			last = t
		}
		if now.Sub(last) < after {
			continue
		}
		reason := fmt.Sprintf("not run since %s, over the %s of --auto-quarantine-after", last.UTC().Format(time.RFC3339), after)
		q := &registry.Quarantine{At: now.UTC(), By: "policy:auto-quarantine", Reason: reason}
		if _, err := d.reg.SetQuarantine(ctx, f.Name, q); err != nil {
			d.log.Warn("auto-quarantine failed", "function", f.Name, "err", err)
			continue
		}
		d.auditAction(ctx, "policy:auto-quarantine", "function.quarantine", f.Name, "ok", "", map[string]string{"reason": reason})
		done = append(done, f.Name)
	}
	return done
}
