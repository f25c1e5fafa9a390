package registry

import (
	"context"
	"fmt"
	"time"
)

// AutoQuarantineBy is who the auto-quarantine policy's quarantines are by.
const AutoQuarantineBy = "policy:auto-quarantine"

// LastInvoked tells when a function last ran; *Usage provides it.
type LastInvoked interface {
	LastInvoked(name string) (time.Time, bool)
}

// AutoQuarantine is what the auto-quarantine policy did to one function:
// quarantined it for Reason, or failed to (Err).
type AutoQuarantine struct {
	Function string
	Reason   string
	Err      error
}

// QuarantineUnused is the opt-in auto-quarantine policy: it quarantines
// every function not in quarantine that has not run since now - after
// (counting from its active version's deploy if it never ran since).
func (r *Registry) QuarantineUnused(ctx context.Context, usage LastInvoked, now time.Time, after time.Duration) []AutoQuarantine {
	var out []AutoQuarantine
	for _, f := range r.List() {
		if f.Quarantine != nil {
			continue
		}
		last := f.Current().DeployedAt
		if t, ok := usage.LastInvoked(f.Name); ok && t.After(last) {
			last = t
		}
		if now.Sub(last) < after {
			continue
		}
		reason := fmt.Sprintf("not run since %s, over the %s of --auto-quarantine-after", last.UTC().Format(time.RFC3339), after)
		q := &Quarantine{At: now.UTC(), By: AutoQuarantineBy, Reason: reason}
		_, err := r.SetQuarantine(ctx, f.Name, q)
		out = append(out, AutoQuarantine{Function: f.Name, Reason: reason, Err: err})
	}
	return out
}
