package daemon

import (
	"context"
	"log/slog"
)

// auditAction records an action the daemon itself took (a policy, not an
// operator), in the log and the audit log.
func (d *Daemon) auditAction(ctx context.Context, actor, action, target, outcome, source string, details map[string]string) {
	attrs := []any{"audit", true, "actor", actor, "action", action, "target", target, "outcome", outcome}
	for k, v := range details {
		attrs = append(attrs, k, v)
	}
	d.log.Log(ctx, slog.LevelInfo, "daemon action", attrs...)
}
