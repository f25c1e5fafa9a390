package daemon

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/metrics"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/store"
)

// LastEvent returns the newest event stored on topic, for tests that check
// what functions published.
func (d *Daemon) LastEvent(ctx context.Context, topic string) (store.Message, error) {
	return d.topics.Last(ctx, topic)
}

// EventConsumers returns the names of the event stream's durable
// consumers: one per topic trigger.
func (d *Daemon) EventConsumers(ctx context.Context) ([]string, error) {
	return d.eventStream.Consumers(ctx)
}

// CollectGarbage deletes now the blobs and artefacts no kept version uses
// that are older than grace, instead of at the next periodic collection.
func (d *Daemon) CollectGarbage(ctx context.Context, grace time.Duration) (registry.GCReport, error) {
	return d.collectGarbage(ctx, grace)
}

// GatewayHandler is the gateway's handler, for benchmarks that call it
// without a connection.
func (d *Daemon) GatewayHandler() http.Handler { return d.gateway.Handler }

// FlushHistory writes the queued invocation records now.
func (d *Daemon) FlushHistory(ctx context.Context) error { return d.history.Flush(ctx) }

// QuarantineUnused runs the auto-quarantine policy as if it were now.
func (d *Daemon) QuarantineUnused(ctx context.Context, now time.Time, after time.Duration) []string {
	return d.quarantineUnused(ctx, now, after)
}

// DeleteAuditRecord tries to delete record seq from the audit stream, as
// an attacker with access to the store would.
func (d *Daemon) DeleteAuditRecord(ctx context.Context, seq uint64) error {
	s, err := d.nats.Stream(ctx, audit.StreamConfig(audit.StreamOptions{}))
	if err != nil {
		return err
	}
	return s.DeleteMessage(ctx, seq)
}

// AppendAuditRecord publishes what forge makes of the newest audit record
// to the audit stream, as an attacker with access to the store (and
// without the audit key) can.
func (d *Daemon) AppendAuditRecord(ctx context.Context, forge func(last []byte) []byte) (uint64, error) {
	return appendAuditRecord(ctx, d.nats, forge)
}

// AppendAuditRecordOffline does what AppendAuditRecord does, in the
// embedded store of a stopped daemon in dataDir.
func AppendAuditRecordOffline(ctx context.Context, dataDir string, forge func(last []byte) []byte) (uint64, error) {
	n, err := store.Open(ctx, store.Options{DataDir: dataDir})
	if err != nil {
		return 0, err
	}
	defer n.Close()
	return appendAuditRecord(ctx, n, forge)
}

func appendAuditRecord(ctx context.Context, n *store.NATS, forge func(last []byte) []byte) (uint64, error) {
	s, err := n.Stream(ctx, audit.StreamConfig(audit.StreamOptions{}))
	if err != nil {
		return 0, err
	}
	m, err := s.LastMessage(ctx)
	if err != nil {
		return 0, err
	}
	return s.Publish(ctx, audit.Subject, "", nil, forge(m.Data))
}

// SealAudit seals the audit log now, as the daemon does every minute.
func (d *Daemon) SealAudit(ctx context.Context) error { return d.audit.a.Seal(ctx) }

// SharedSnapshots holds the snapshot artefacts every daemon of a test run
// has prepared, by artefact name. An artefact is named by its module's
// digest and the snapshot format, and any snapshot of a module serves it as
// well as another, so daemons on different data directories can use each
// other's: the first deploy of a module in the run initialises it, and
// later ones load the snapshot as a restart would. Under the race detector
// initialisation takes seconds per deploy.
type SharedSnapshots struct {
	mu sync.Mutex
	m  map[string][]byte
}

// ShareSnapshots makes d, not yet started, read snapshots it has not
// prepared itself from s (copying them into its own store first) and add
// the ones it prepares to s.
func ShareSnapshots(d *Daemon, s *SharedSnapshots) {
	d.withArtefacts = func(own runtime.ArtefactStore) runtime.ArtefactStore {
		return sharedArtefacts{own: own, shared: s}
	}
}

type sharedArtefacts struct {
	own    runtime.ArtefactStore
	shared *SharedSnapshots
}

func (a sharedArtefacts) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := a.own.Get(ctx, name)
	if err == nil {
		return data, nil
	}
	a.shared.mu.Lock()
	shared, ok := a.shared.m[name]
	a.shared.mu.Unlock()
	if !ok {
		return nil, err
	}
	if err := a.own.Put(ctx, name, shared); err != nil {
		return nil, err
	}
	return bytes.Clone(shared), nil
}

func (a sharedArtefacts) Put(ctx context.Context, name string, data []byte) error {
	a.shared.mu.Lock()
	if a.shared.m == nil {
		a.shared.m = make(map[string][]byte)
	}
	a.shared.m[name] = bytes.Clone(data)
	a.shared.mu.Unlock()
	return a.own.Put(ctx, name, data)
}

// MetricDefinitions returns the definitions of the daemon's metrics.
func (d *Daemon) MetricDefinitions() []metrics.Definition { return d.metrics.Definitions() }

// ObserveInvocation queues r for the invocation history, as the gateway
// does after a call; FlushHistory writes it.
func (d *Daemon) ObserveInvocation(r observe.Record) { d.history.Observe(r) }

// LiveNodes returns the number of live nodes this node splits its rate
// and concurrency limits across (1 on the embedded store).
func (d *Daemon) LiveNodes() int { return d.nodes.Count() }

// RecordedAuditKeyID returns the audit key's id the store records.
func (d *Daemon) RecordedAuditKeyID(ctx context.Context) (string, error) {
	e, err := d.audit.settings.Get(ctx, settingAuditKey)
	return string(e.Value), err
}
