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
	next slog.Handler
	// redactor returns the redactor of the stored secrets' values.
	redactor func() *secrets.Redactor
}

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle passes rec on as it is when nothing in it holds a secret, which
// is nearly always (one line per invocation), and otherwise a copy with
// the secrets replaced.
func (h redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.redactor()
	if r.Empty() {
		return h.next.Handle(ctx, rec)
	}
	msg := r.String(rec.Message)
	var out *slog.Record
	copyFrom := func(n int) { // the first n attributes, as they are
		o := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
		rec.Attrs(func(a slog.Attr) bool {
			if n == 0 {
				return false
			}
			o.AddAttrs(a)
			n--
			return true
		})
		out = &o
	}
	if msg != rec.Message {
		copyFrom(0)
	}
	i := 0
	rec.Attrs(func(a slog.Attr) bool {
		red, changed := redactAttr(r, a)
		if changed && out == nil {
			copyFrom(i)
		}
		if out != nil {
			out.AddAttrs(red)
		}
		i++
		return true
	})
	if out == nil {
		return h.next.Handle(ctx, rec)
	}
	return h.next.Handle(ctx, *out)
}

func (h redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if r := h.redactor(); !r.Empty() {
		attrs = append([]slog.Attr(nil), attrs...)
		for i := range attrs {
			attrs[i], _ = redactAttr(r, attrs[i])
		}
	}
	return redactingHandler{next: h.next.WithAttrs(attrs), redactor: h.redactor}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{next: h.next.WithGroup(name), redactor: h.redactor}
}

// redactAttr redacts one attribute: a string in place, a group member by
// member, and any other value by its text, replaced only if it held a
// secret (so that numbers, times and clean values keep their kind). It
// reports whether anything was replaced.
func redactAttr(r *secrets.Redactor, a slog.Attr) (slog.Attr, bool) {
	key := r.String(a.Key)
	changed := key != a.Key
	a.Key = key
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		s := r.String(v.String())
		changed = changed || s != v.String()
		a.Value = slog.StringValue(s)
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i := range g {
			var c bool
			out[i], c = redactAttr(r, g[i])
			changed = changed || c
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		text := fmt.Sprint(v.Any())
		if red := r.String(text); red != text {
			a.Value, changed = slog.StringValue(red), true
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a, changed
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
