package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
)

// auditTrail is the daemon's tamper-evident audit log (package audit),
// fed by three sources:
//
//   - administrative actions, recorded before the admin API answers;
//   - security refusals of the gateway (authentication, authorisation,
//     budgets, input contracts, call depth, quarantine) and capability
//     denials, which attackers control the rate of. These go through a
//     bounded queue, so a flood costs an fsync per event at most in the
//     background and never slows the gateway; what overflows is counted,
//     and the count recorded as an audit.dropped event every minute.
//
// Rate and concurrency refusals and unknown routes are not audited: they
// are counted in the metrics and kept in the invocation history.
type auditTrail struct {
	a       *audit.Auditor
	log     *slog.Logger
	queue   chan audit.Event
	dropped atomic.Int64
	sink    *audit.FileSink
	lg      audit.Log
	// secrets, when set, has every stored secret value redacted from
	// events: a denied resource's name is the function's text.
	secrets *secrets.Store

	// The key files (auditKeys) and what a rotation needs: the store's
	// settings, which record the key's id, and on an external store the
	// nodes, each of which must hold the next key first.
	path     string
	key      atomic.Pointer[secret.Value] // the key in path
	settings *store.KV
	shared   bool
	nodes    adminapi.Nodes
	self     string
	rotating sync.Mutex
}

// auditQueue bounds the refusals waiting to be recorded.
const auditQueue = 10000

// openAudit opens the audit stream, its key and head (next to the key,
// outside JetStream) and the optional file sink; every value in secrets is
// redacted from its events.
func (d *Daemon) openAudit(ctx context.Context, secrets *secrets.Store, settings *store.KV) (*auditTrail, error) {
	lg, err := audit.OpenStream(ctx, d.nats, audit.StreamOptions{})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	keyPath := d.cfg.AuditKeyPath()
	others, err := otherAuditKeys(keyPath)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	key, created, err := d.auditKey(ctx, keyPath, lg, settings, others)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if created {
		d.logCreated("created the audit key", keyPath, "--audit-key-file")
	}
	t := &auditTrail{log: d.log, queue: make(chan audit.Event, auditQueue), lg: lg, secrets: secrets,
		path: keyPath, settings: settings, shared: !d.nats.Embedded()}
	t.key.Store(&key)
	opts := audit.Options{
		Head: &audit.FileHead{Path: filepath.Join(filepath.Dir(keyPath), "audit.head")}, Logger: d.log,
		Keys: others, LoadKey: t.loadNext, OnRotate: t.adopt,
	}
	if f := d.cfg.Observability.AuditFile; f != "" {
		if t.sink, err = audit.OpenFileSink(f); err != nil {
			return nil, fmt.Errorf("--audit-file: %w", err)
		}
		opts.Sink = t.sink
	}
	if t.a, err = audit.New(lg, key, opts); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// The tail since the last seal the head names is checked before
	// anything is appended: a record added, changed or removed while the
	// daemon was stopped stops sealing (the Auditor logs it as an error),
	// and shows in the metrics and the posture report.
	if _, err := t.a.CheckTail(ctx); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	d.metrics.GaugeFunc("pave_audit_tampered", "1 once the daemon found its audit log tampered with; it then no longer seals the log (see pave audit verify).", func() float64 {
		if t.a.Broken() != nil {
			return 1
		}
		return 0
	})
	return t, nil
}

// auditKey loads the audit key, or creates it if the store records none
// and its log is empty, and checks its id against the one the store
// records (recording it if none is): every node seals the one log with
// one key. The recorded id may also be that of another key the node
// holds (others): the next key, after a rotation made while the node was
// down, or the one before, when a rotation stopped before the id was
// recorded; the Auditor then follows the log to the right one.
func (d *Daemon) auditKey(ctx context.Context, path string, lg *audit.StreamLog, settings *store.KV, others []secret.Value) (secret.Value, bool, error) {
	exists, err := fileExists(path)
	if err != nil {
		return "", false, err
	}
	if !exists {
		recorded := ""
		if e, err := settings.Get(ctx, settingAuditKey); err == nil {
			recorded = "audit key " + string(e.Value)
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		} else if _, end, err := lg.Last(ctx); err != nil {
			return "", false, err
		} else if end > 0 {
			recorded = "an audit key"
		}
		if recorded != "" {
			return "", false, fmt.Errorf("the store's audit log is sealed by %s, and this node has no audit key file %s: "+
				"copy the cluster's audit key there, or name it with --audit-key-file; a node never makes a key of its own once the store has one", recorded, path)
		}
	}
	key, created, err := audit.LoadOrCreateKey(path)
	if err != nil {
		return "", false, err
	}
	id, err := audit.KeyID(key)
	if err != nil {
		return "", false, err
	}
	recorded, err := claimKeyID(ctx, settings, settingAuditKey, id)
	if err != nil {
		return "", false, err
	}
	if recorded != id && !slices.ContainsFunc(others, func(k secret.Value) bool { o, _ := audit.KeyID(k); return o == recorded }) {
		return "", false, fmt.Errorf("the store's audit log is sealed by audit key %s, and this node's key file %s holds audit key %s: give every node the same key", recorded, path, id)
	}
	return key, created, nil
}

// tampering is the tampering the Auditor found, empty if none.
func (t *auditTrail) tampering() string {
	if p := t.a.Broken(); p != nil {
		return p.String()
	}
	return ""
}

// keyInStore returns the audit key's path if it lies in the embedded
// store's data directory, "" otherwise.
func keyInStore(cfg config.Config, embedded bool) string {
	if !embedded {
		return ""
	}
	key, err := filepath.Abs(cfg.AuditKeyPath())
	if err != nil {
		return ""
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return ""
	}
	if rel, err := filepath.Rel(dir, key); err == nil && filepath.IsLocal(rel) {
		return cfg.AuditKeyPath()
	}
	return ""
}

// run seals the log periodically and records queued refusals until ctx
// ends, then drains what is queued and seals once more.
func (t *auditTrail) run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = t.a.Run(ctx)
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case ev := <-t.queue:
			t.record(ctx, ev)
		case <-tick.C:
			t.reportDropped(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		drain:
			for {
				select {
				case ev := <-t.queue:
					t.record(final, ev)
				default:
					break drain
				}
			}
			t.reportDropped(final)
			cancel()
			<-done // Run seals at its end
			if t.sink != nil {
				_ = t.sink.Close()
			}
			return
		}
	}
}

func (t *auditTrail) record(ctx context.Context, ev audit.Event) {
	if t.secrets != nil {
		ev = redactEvent(t.secrets.Redactor(nil, nil), ev)
	}
	if err := t.a.Record(ctx, ev); err != nil {
		t.log.Error("audit event not recorded", "action", ev.Action, "err", err)
	}
}

func (t *auditTrail) reportDropped(ctx context.Context) {
	if n := t.dropped.Swap(0); n > 0 {
		t.record(ctx, audit.NewEvent(audit.ActorSystem, "audit.dropped", "").With("refusals", n).
			With("why", "more security refusals than the audit log could record; they are in the invocation history"))
	}
}

// enqueue queues ev without blocking.
func (t *auditTrail) enqueue(ev audit.Event) {
	select {
	case t.queue <- ev:
	default:
		t.dropped.Add(1)
	}
}

// Audit records an action of actor synchronously: the admin API's
// administrative actions.
func (t *auditTrail) Audit(ctx context.Context, actor, action, target, outcome, source string, details map[string]string) {
	ev := audit.NewEvent(actor, action, target).From(source)
	ev.Outcome = audit.Outcome(outcome)
	for k, v := range details {
		if v != "" {
			ev = ev.With(k, v)
		}
	}
	t.record(ctx, ev)
}

// Observe queues an audit event for a gateway refusal that is a security
// decision.
func (t *auditTrail) Observe(r observe.Record) {
	reason, refused := observe.RefusalReason(r.Code)
	if !refused {
		return
	}
	action := "gateway.refused"
	switch reason {
	case "auth":
		action = audit.ActionAuthDenied
	case "budget", "input", "call_depth", "call_count", "quarantine", "flow":
	default:
		return // rate, concurrency, route: counted, not audited
	}
	actor := r.Caller
	if actor == "" {
		actor = "anonymous"
	}
	target := ""
	if r.Function != "" {
		target = audit.Ref("function", r.Function)
	}
	t.enqueue(audit.NewEvent(actor, action, target).From(r.Source).Deny(r.Code).
		With("route", r.Route).With("request_id", r.RequestID))
}

// denied queues an audit event for a capability denial.
func (t *auditTrail) denied(d capability.Denial) {
	actor := audit.Ref("function", d.Function)
	t.enqueue(audit.NewEvent(actor, audit.ActionCapabilityDenied, d.Capability+" "+d.Resource).
		Deny("not granted").With("owner", d.Owner).With("caller", d.Caller).With("request_id", d.RequestID))
}

// auditAction records an action the daemon itself took (a policy, not an
// operator), in the log and the audit log.
func (d *Daemon) auditAction(ctx context.Context, actor, action, target, outcome, source string, details map[string]string) {
	attrs := []any{"audit", true, "actor", actor, "action", action, "target", target, "outcome", outcome}
	for k, v := range details {
		attrs = append(attrs, k, v)
	}
	d.log.Log(ctx, slog.LevelInfo, "daemon action", attrs...)
	if d.audit != nil {
		d.audit.Audit(ctx, actor, action, target, outcome, source, details)
	}
}

// Events calls fn with every audit event recorded since since.
func (t *auditTrail) Events(ctx context.Context, since time.Time, fn func(audit.Event) error) error {
	return audit.Events(ctx, t.lg, since, fn)
}

// Verify checks the whole chain, its seals and its head.
func (t *auditTrail) Verify(ctx context.Context) (audit.VerifyReport, error) { return t.a.Verify(ctx) }
