package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/gateway"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// redaction hides the values of every stored secret: in function output
// (through the gateway), in every line of the daemon's log (redactingHandler)
// and in audit events (auditTrail.record). The store keeps the matcher
// current as secrets are set and removed; with no secret stored every one
// of these is a nil check.
type redaction struct{ store *secrets.Store }

var _ gateway.Redaction = redaction{}

// Redactor implements gateway.Redaction.
func (r redaction) Redactor(extra []secret.Value, except []string) gateway.Redactor {
	if red := r.store.Redactor(extra, except); red != nil {
		return red
	}
	return nil
}

// redactingHandler is the daemon's log handler: it redacts stored secret
// values in each record's message and attributes (strings, errors and
// anything else whose text holds one) before the next handler sees them,
// so that no package's log line can carry one, whatever its source.
type redactingHandler struct {
	next  slog.Handler
	store *secrets.Store
}

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.store.Redactor(nil, nil)
	if r == nil {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(r, a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if r := h.store.Redactor(nil, nil); r != nil {
		attrs = append([]slog.Attr(nil), attrs...)
		for i := range attrs {
			attrs[i] = redactAttr(r, attrs[i])
		}
	}
	return redactingHandler{next: h.next.WithAttrs(attrs), store: h.store}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{next: h.next.WithGroup(name), store: h.store}
}

// redactAttr redacts one attribute: a string in place, a group member by
// member, and any other value by its text, replaced only if it held a
// secret (so that numbers, times and clean values keep their kind).
func redactAttr(r *secrets.Redactor, a slog.Attr) slog.Attr {
	a.Key = r.String(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i := range g {
			out[i] = redactAttr(r, g[i])
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		text := fmt.Sprint(v.Any())
		if red := r.String(text); red != text {
			a.Value = slog.StringValue(red)
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}

// redactEvent redacts stored secret values in an audit event's fields.
func redactEvent(r *secrets.Redactor, ev audit.Event) audit.Event {
	if r == nil {
		return ev
	}
	ev.Actor, ev.Target, ev.Source = r.String(ev.Actor), r.String(ev.Target), r.String(ev.Source)
	if len(ev.Details) > 0 {
		d := make(map[string]string, len(ev.Details))
		for k, v := range ev.Details {
			d[k] = r.String(v)
		}
		ev.Details = d
	}
	return ev
}
