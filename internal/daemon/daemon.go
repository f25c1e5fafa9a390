// Package daemon builds and wires every subsystem of pave: the store, the
// registry, the runtime, the gateway and the admin API. It is the only place
// that knows how they fit together, and it owns their lifecycle: Start brings
// them up in dependency order, Shutdown takes them down in reverse. It holds
// wiring only: adapters between packages, and the schedule of their
// background loops; the features themselves live in their packages.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/budgets"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/certs"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/console"
	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/gateway"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/members"
	"github.com/pave-dev/pave/internal/metrics"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/oidc"
	"github.com/pave-dev/pave/internal/policy"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
	"github.com/pave-dev/pave/internal/triggers"
	"github.com/pave-dev/pave/internal/version"
	"github.com/pave-dev/pave/internal/webhook"
)

// Storage buckets. Renaming one loses its data: these are part of the
// on-disk format.
const (
	bucketFunctions = "pave_functions"
	bucketBlobs     = "pave_blobs"
	bucketKeys      = "pave_keys"
	bucketSettings  = "pave_settings"
	bucketUsage     = "pave_usage"
	bucketBudgets   = "pave_budgets"
	bucketSecrets   = "pave_secrets"
	bucketUsers     = "pave_console_users"
	bucketClaims    = "pave_claims"
	// bucketLeases holds the budget counters the nodes on an external
	// server lease from.
	bucketLeases = "pave_budget_leases"
	// bucketDeliveries holds the webhook deliveries the nodes on an
	// external server accepted.
	bucketDeliveries = "pave_webhook_deliveries"
)

// usageFlushInterval is how often last-invocation times and budget
// spending are written.
const usageFlushInterval = 10 * time.Second

// rateSweepInterval is how often idle rate-limit buckets are dropped.
const rateSweepInterval = time.Minute

// Daemon is a pave node.
type Daemon struct {
	cfg config.Config
	log *slog.Logger

	// withArtefacts, set only by tests, wraps the engine's snapshot store
	// (see export_test.go).
	withArtefacts func(runtime.ArtefactStore) runtime.ArtefactStore

	unlock      func()        // releases the data directory
	nodeID      string        // this node's id among those sharing the store
	leads       atomic.Bool   // whether this node fires the schedules (members.Leads)
	nodes       *limits.Nodes // the live nodes limits are split across; nil when embedded
	started     time.Time
	stop        context.CancelFunc // ends watches and background loops
	bg          sync.WaitGroup
	nats        *store.NATS
	health      *storeHealth
	engine      *runtime.Engine
	usage       *registry.Usage
	budgets     *budgets.Store
	ledger      *limits.Ledger // set when it leases its budgets from the store
	reg         *registry.Registry
	topics      *events.Topics
	eventStream *store.Stream
	queue       *async.Queue
	history     *observe.History
	metrics     *metrics.Metrics
	audit       *auditTrail
	gateway     *http.Server
	admin       *http.Server
	// metricsSrv serves /metrics on a listener of its own, if configured.
	metricsSrv *http.Server
	gwAddr     net.Addr
	adAddr     net.Addr
}

// New prepares a daemon from a validated configuration; Start runs it.
func New(cfg config.Config, log *slog.Logger) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Daemon{cfg: cfg, log: log}, nil
}

// Start opens the store, loads the registry and keys, and starts both
// listeners. It returns once both accept connections; on error everything
// started so far is stopped again.
//
// It builds in dependency order, one step each: open the storage, build
// the core (registry, engine, defences, secrets, observability, audit),
// build the edges (capabilities, queue, gateway, admin API), listen, and
// start the background loops. Every dependency is passed at construction,
// but for one cycle, documented where it is closed: the gateway runs on
// the capability broker and the queue, and both call back into it.
func (d *Daemon) Start(ctx context.Context) (err error) {
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if d.unlock, err = lockDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	d.started = time.Now().UTC()
	d.leads.Store(true)
	if d.nodeID, err = members.NodeID(d.cfg.DataDir); err != nil {
		return fmt.Errorf("node id: %w", err)
	}
	bgCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	defer func() {
		if err != nil {
			d.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	var p parts
	if err := d.openStorage(ctx, &p); err != nil {
		return err
	}
	if err := d.buildCore(ctx, bgCtx, &p); err != nil {
		return err
	}
	if err := d.buildEdges(ctx, &p); err != nil {
		return err
	}
	d.health.check(ctx) // every stream is open: the first check before serving
	if err := d.serve(&p); err != nil {
		return err
	}
	d.startLoops(bgCtx, &p)
	d.log.Info("pave is serving", "gateway", d.GatewayURL(), "admin", d.AdminURL(), "embedded_nats", d.nats.Embedded())
	return nil
}

// parts are what one step of Start builds for the next ones; what
// outlives Start is kept in the Daemon.
type parts struct {
	// storage
	fnRecords, keyRecords, settings, usageRecords, budgetRecords, secretRecords *store.KV
	blobs                                                                       *store.Blobs
	userRecords                                                                 *store.KV
	nodeRecords                                                                 *store.KV // heartbeats, expiring
	claims                                                                      *store.KV

	// core
	admin   *identity.Admin
	keys    *identity.Keys
	users   *identity.Users
	tokens  gateway.TokenVerifier
	ledger  *limits.Ledger
	limiter *limits.Limiter
	vault   *secretVault

	// edges
	outbound   *egress.Client
	broker     *capability.Broker
	dispatcher *triggers.Dispatcher
	callbacks  *async.Sender
	gw         *gateway.Gateway
	posture    *posture.Checker
	policies   *policy.Store
	console    *console.Console
	api        http.Handler  // the admin API, and the console at /ui/
	changed    chan struct{} // a registry change, for the module eviction
	replays    webhook.SharedReplays
}

// openStorage connects to the store and opens its buckets.
func (d *Daemon) openStorage(ctx context.Context, p *parts) (err error) {
	d.nats, err = store.Open(ctx, store.Options{URL: d.cfg.NATSURL, DataDir: d.cfg.DataDir, Replicas: d.cfg.Replicas, Logger: d.log})
	if err != nil {
		return err
	}
	for _, b := range []struct {
		name string
		kv   **store.KV
	}{
		{bucketFunctions, &p.fnRecords},
		{bucketKeys, &p.keyRecords},
		{bucketSettings, &p.settings},
		{bucketUsage, &p.usageRecords},
		{bucketBudgets, &p.budgetRecords},
		{bucketSecrets, &p.secretRecords},
		{bucketUsers, &p.userRecords},
		{bucketClaims, &p.claims},
	} {
		if *b.kv, err = d.nats.KV(ctx, b.name); err != nil {
			return err
		}
	}
	if p.nodeRecords, err = d.nats.ExpiringKV(ctx, members.Bucket, members.TTL); err != nil {
		return err
	}
	p.blobs, err = d.nats.Blobs(ctx, bucketBlobs)
	d.health = &storeHealth{n: d.nats}
	return err
}

// buildCore loads what the edges are built on: the admin token, the
// registry, the keys, the usage records, the engine, the defences, the
// secrets, the observability and the audit trail.
func (d *Daemon) buildCore(ctx, bgCtx context.Context, p *parts) (err error) {
	var created bool
	if p.admin, created, err = identity.EnsureAdmin(ctx, p.settings, d.cfg.AdminTokenFile()); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	if created {
		d.log.Info("created the admin token", "file", d.cfg.AdminTokenFile())
	}
	if err := p.admin.Follow(bgCtx, p.settings); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	if d.reg, err = registry.New(bgCtx, p.fnRecords, p.blobs); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	claims, err := d.reg.UseClaims(ctx, p.claims)
	if err != nil {
		return fmt.Errorf("route and topic claims: %w", err)
	}
	if claims.Created > 0 {
		d.log.Info("claimed the routes and topics of deployed functions", "claims", claims.Created)
	}
	for _, c := range claims.Collisions {
		d.log.Warn("a deployed function collides with another; its next deploy is refused until the collision is gone", "err", c)
	}
	if p.keys, err = identity.NewKeys(bgCtx, p.keyRecords); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if p.users, err = identity.NewUsers(bgCtx, p.userRecords); err != nil {
		return fmt.Errorf("console users: %w", err)
	}
	if d.usage, err = registry.NewUsage(bgCtx, p.usageRecords); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	if err := d.openEngine(ctx, p); err != nil {
		return err
	}
	if err := d.openDefences(bgCtx, p); err != nil {
		return err
	}
	if err := d.openSecrets(ctx, bgCtx, p); err != nil {
		return err
	}
	if err := d.openObservability(ctx, d.reg, p.ledger); err != nil {
		return err
	}
	if d.audit, err = d.openAudit(ctx, p.vault.store, p.settings); err != nil {
		return err
	}
	d.audit.nodes, d.audit.self = nodeList{p.nodeRecords}, d.nodeID
	return nil
}

// openEngine starts the WebAssembly engine, its snapshots kept with the
// blobs.
func (d *Daemon) openEngine(ctx context.Context, p *parts) (err error) {
	var artefacts runtime.ArtefactStore = p.blobs
	if d.withArtefacts != nil {
		artefacts = d.withArtefacts(artefacts)
	}
	d.engine, err = runtime.New(ctx, runtime.Config{
		CacheDir:  d.cfg.CompileCacheDir(),
		Isolation: runtime.Isolation(d.cfg.Isolation),
		Artefacts: artefacts,
		MaxLoaded: d.cfg.MaxLoadedModules,

		CompileBeforeServing: d.cfg.CompileBeforeServing,
	})
	return err
}

// openDefences builds the token verifier, the budgets and the rate
// limiter.
func (d *Daemon) openDefences(bgCtx context.Context, p *parts) (err error) {
	if iss := d.cfg.Defenses.Issuers; len(iss) > 0 {
		v, err := oidc.New(issuerConfigs(iss), oidc.Options{OnFetchError: func(url string, err error) {
			d.log.Warn("jwks fetch failed", "url", url, "err", err)
		}})
		if err != nil {
			return fmt.Errorf("jwt issuers: %w", err)
		}
		p.tokens = v
	}
	p.ledger = limits.NewLedger(time.Now, d.budgetAlert)
	if !d.nats.Embedded() {
		// Other nodes may share the store: budgets hold across them.
		leases, err := d.nats.KV(bgCtx, bucketLeases)
		if err != nil {
			return err
		}
		p.ledger.ShareWith(budgets.NewLeases(leases))
		d.ledger = p.ledger
		// Rates and concurrency are split across the live nodes.
		d.nodes = &limits.Nodes{}
	}
	if d.budgets, err = budgets.Open(bgCtx, p.budgetRecords, p.ledger); err != nil {
		return fmt.Errorf("budgets: %w", err)
	}
	p.limiter = limits.NewLimiter(time.Now)
	p.limiter.Nodes = d.nodes
	return nil
}

// openSecrets opens the secrets store; from then on, no log line carries
// a stored secret's value.
func (d *Daemon) openSecrets(ctx, bgCtx context.Context, p *parts) (err error) {
	var keyCreated bool
	if p.vault, keyCreated, err = openVault(ctx, d.cfg, p.secretRecords, p.settings, !d.nats.Embedded(), d.log); err != nil {
		return err
	}
	p.vault.nodes, p.vault.self = nodeList{p.nodeRecords}, d.nodeID
	if keyCreated {
		d.logCreated("created the secrets master key", d.cfg.MasterKeyPath(), "--master-key-file or PAVE_MASTER_KEY")
	}
	if err := p.vault.store.Watch(bgCtx, p.secretRecords); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := p.vault.follow(bgCtx); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	d.log = slog.New(redactingHandler{next: d.log.Handler(), redactor: func() *secrets.Redactor { return p.vault.store.Redactor(nil, nil) }})
	return nil
}

// buildEdges builds what functions and clients reach: the capabilities,
// the event topics, the queue and triggers, the gateway and the admin API.
func (d *Daemon) buildEdges(ctx context.Context, p *parts) (err error) {
	if d.eventStream, err = d.nats.Stream(ctx, events.StreamConfig()); err != nil {
		return err
	}
	d.topics = events.New(d.eventStream)
	p.outbound = egress.New(egress.Policy{AllowedNets: d.cfg.Defenses.EgressAllow})
	p.broker = capability.NewBroker(capability.Deps{
		Secrets: p.vault, Buckets: natsBuckets{d.nats}, HTTP: p.outbound, Publisher: d.topics,
		OnDenial: d.audit.denied, Log: d.log,
	})
	if d.queue, p.dispatcher, p.callbacks, err = d.openAsync(ctx, p.settings, d.reg, p.vault, p.outbound); err != nil {
		return err
	}
	if !d.nats.Embedded() {
		// Other nodes may share the store: a delivery is accepted once
		// across them.
		kv, err := d.nats.ExpiringKV(ctx, bucketDeliveries, webhook.SharedWindow)
		if err != nil {
			return err
		}
		p.replays = sharedReplays{kv}
	}
	p.gw = d.newGateway(p)
	// The one dependency bound late: the gateway is built on the broker,
	// and the broker's invoke capability runs functions through the
	// gateway. (The queue gets the gateway as its runner when its loop
	// starts.)
	p.broker.SetInvoker(p.gw)
	d.reg.OnChange(p.gw.Reload)
	d.reg.OnChange(p.dispatcher.Changed)
	p.changed = make(chan struct{}, 1)
	d.reg.OnChange(func() {
		select {
		case p.changed <- struct{}{}:
		default: // a sweep is already due
		}
	})
	p.policies = policy.NewStore(p.settings)
	d.reg.AdmitWith(admitPolicies(p.policies))
	if p.posture, err = newPostureChecker(d, p.vault, p.policies); err != nil {
		return err
	}
	p.console = d.newConsole(p)
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, p.console)
	mux.Handle("/", d.newAdminAPI(p))
	p.api = mux
	return nil
}

// newGateway builds the gateway over the core and the broker.
func (d *Daemon) newGateway(p *parts) *gateway.Gateway {
	return gateway.New(gateway.Deps{
		Functions:      d.reg,
		Keys:           p.keys,
		Engine:         d.engine,
		Usage:          d.usage,
		Log:            d.log,
		Tokens:         p.tokens,
		WebhookSecrets: webhook.SecretFiles{},
		Replays:        p.replays,
		Budgets:        d.budgets,
		Limiter:        p.limiter,
		Owners:         d.ownerSlots(),
		Ledger:         p.ledger,
		Nodes:          d.nodes,
		Defenses:       d.cfg.Defenses,
		Capabilities:   p.broker,
		Redaction:      redaction{p.vault.store},
		Observer:       observers{d.history, d.metrics, d.usage, d.audit},
		Queue:          d.queue,
		Callbacks:      p.callbacks,
		Topics:         d.topics,
	})
}

// newAdminAPI builds the admin API.
func (d *Daemon) newAdminAPI(p *parts) http.Handler {
	return adminapi.New(adminapi.Deps{
		Nodes:          nodeList{p.nodeRecords},
		Registry:       d.reg,
		Preparer:       d.engine,
		Keys:           p.keys,
		Invoker:        p.gw,
		Usage:          d.usage,
		Auth:           p.admin,
		AdminTokens:    p.admin,
		WebhookSecrets: webhook.SecretFiles{},
		Budgets:        d.budgets,
		DefaultBudget:  d.cfg.Defenses.Budget,
		Secrets:        p.vault,
		History:        d.history,
		Metrics:        d.metrics.Handler(),
		Posture:        p.posture,
		Auditor:        d.audit,
		AuditLog:       d.audit,
		Async:          d.queue,
		ConsoleUsers:   p.users,
		Policies:       p.policies,
		Issuers:        issuerViews(d.cfg.Defenses.Issuers),
		Version:        version.String(),
		Health:         d.health,
		Log:            d.log,
	})
}

// newConsole builds the web console over what the admin API reads.
func (d *Daemon) newConsole(p *parts) *console.Console {
	return console.New(console.Deps{
		Functions: d.reg,
		Usage:     d.usage,
		Keys:      p.keys,
		Auth:      p.admin,
		Users:     p.users,
		History:   d.history,
		AuditLog:  d.audit,
		Auditor:   d.audit,
		Control:   d.reg,
		Async:     d.queue,
		Posture:   p.posture,
		Budgets:   d.budgets,
		Live:      d.history,
		Version:   version.String(),
		Log:       d.log,
	})
}

// serve starts the listeners and writes the admin URL file.
func (d *Daemon) serve(p *parts) (err error) {
	// A request must arrive whole within these: a slow client cannot hold
	// a connection (or, on the gateway, a concurrency slot) indefinitely.
	gwCert, err := d.certificate(d.cfg.GatewayTLS)
	if err != nil {
		return fmt.Errorf("gateway listener: %w", err)
	}
	adCert, err := d.certificate(d.cfg.AdminTLS)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	d.gateway, d.gwAddr, err = d.listen(d.cfg.GatewayAddr, p.gw, gatewayReadTimeout, gwCert)
	if err != nil {
		return fmt.Errorf("gateway listener: %w", err)
	}
	d.admin, d.adAddr, err = d.listen(d.cfg.AdminAddr, p.api, adminReadTimeout, adCert)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	d.admin.RegisterOnShutdown(p.console.Close) // the console's live streams would hold the shutdown up
	if addr := d.cfg.Observability.MetricsAddr; addr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", d.metrics.Handler())
		if d.metricsSrv, _, err = d.listen(addr, mux, gatewayReadTimeout, nil); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	if err := os.WriteFile(d.cfg.AdminURLFile(), []byte(d.AdminURL()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin url: %w", err)
	}
	return nil
}

// startLoops starts the background loops; they end when bgCtx does.
func (d *Daemon) startLoops(bgCtx context.Context, p *parts) {
	d.background(bgCtx, func(ctx context.Context) {
		members.Beat(ctx, p.nodeRecords, func() members.Node { return d.describe(p.vault) }, d.log)
	})
	d.background(bgCtx, func(ctx context.Context) { d.followLeadership(ctx, p.nodeRecords) })
	d.background(bgCtx, p.console.Warm)
	d.background(bgCtx, func(ctx context.Context) { every(ctx, usageFlushInterval, func() { d.flushUsage(ctx) }) })
	d.background(bgCtx, d.history.Run)
	d.background(bgCtx, d.health.run)
	d.background(bgCtx, func(ctx context.Context) {
		d.runLoop(ctx, "async worker", func(ctx context.Context) error { return d.queue.Run(ctx, p.gw) })
	})
	d.background(bgCtx, func(ctx context.Context) { d.queue.Sweep(ctx, d.leads.Load) })
	d.background(bgCtx, func(ctx context.Context) { d.runLoop(ctx, "triggers", p.dispatcher.Run) })
	d.background(bgCtx, d.audit.run)
	d.background(bgCtx, func(ctx context.Context) { every(ctx, rateSweepInterval, p.limiter.Sweep) })
	d.background(bgCtx, func(ctx context.Context) { every(ctx, rateSweepInterval, p.console.Sweep) })
	d.background(bgCtx, func(ctx context.Context) { every(ctx, poolSweepInterval, func() { d.sweepPools(ctx) }) })
	d.background(bgCtx, func(ctx context.Context) { d.evictUnused(ctx, d.reg, p.changed) })
	d.background(bgCtx, func(ctx context.Context) {
		every(ctx, gcInterval, func() { _, _ = d.collectGarbage(ctx, gcGrace) })
	})
	if after := d.cfg.Observability.AutoQuarantineAfter; after > 0 {
		d.background(bgCtx, func(ctx context.Context) {
			every(ctx, autoQuarantineInterval, func() { d.quarantineUnused(ctx, time.Now(), after) })
		})
	}
	d.background(bgCtx, func(ctx context.Context) { d.warm(ctx, d.reg) })
}

// Read timeouts: the admin API receives module uploads of up to 64 MiB.
const (
	gatewayReadTimeout = time.Minute
	adminReadTimeout   = 5 * time.Minute
)

// certificate loads a listener's certificate; nil when it serves plain
// HTTP.
func (d *Daemon) certificate(t config.TLS) (*certs.Reloader, error) {
	if !t.Enabled() {
		return nil, nil
	}
	return certs.Load(t.CertFile, t.KeyFile, d.log)
}

// listen binds addr and serves h on it in the background: over TLS, with
// HTTP/2 offered, when cert is not nil.
func (d *Daemon) listen(addr string, h http.Handler, readTimeout time.Duration, cert *certs.Reloader) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if cert != nil {
		ln = tls.NewListener(ln, cert.TLSConfig())
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return srv, ln.Addr(), nil
}

func (d *Daemon) background(ctx context.Context, fn func(context.Context)) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		fn(ctx)
	}()
}

// natsBuckets opens the functions' key-value buckets in JetStream.
type natsBuckets struct{ n *store.NATS }

func (b natsBuckets) Bucket(ctx context.Context, name string) (capability.Bucket, error) {
	return b.n.KV(ctx, name)
}

// sharedReplays keeps the webhook deliveries accepted by every node in a
// bucket whose entries expire after webhook.SharedWindow.
type sharedReplays struct{ kv *store.KV }

func (s sharedReplays) Claim(ctx context.Context, key string) (bool, error) {
	_, err := s.kv.Create(ctx, key, []byte{1})
	if errors.Is(err, store.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// budgetAlert reports a budget crossing 80% or 100% of its cap.
func (d *Daemon) budgetAlert(a limits.Alert) {
	d.log.Warn("budget alert", "audit", true, "subject", a.Subject, "meter", string(a.Meter), "percent", a.Level,
		"used", a.Used, "limit", a.Limit, "window_start", a.WindowStart)
}

// issuerConfigs converts the configured issuers for package oidc.
func issuerConfigs(in []config.Issuer) []oidc.IssuerConfig {
	out := make([]oidc.IssuerConfig, len(in))
	for i, c := range in {
		out[i] = oidc.IssuerConfig{
			Issuer: c.Issuer, Audiences: c.Audiences, JWKSURL: c.JWKSURL, JWKS: c.JWKS,
			Algorithms: c.Algorithms, Type: c.Type, ClockSkew: c.ClockSkew,
			ScopeClaim: c.ScopeClaim, RolesClaim: c.RolesClaim,
		}
	}
	return out
}

// issuerViews reports the configured issuers through the admin API.
func issuerViews(in []config.Issuer) []client.Issuer {
	out := make([]client.Issuer, len(in))
	for i, c := range in {
		jwks := c.JWKSURL
		if jwks == "" {
			jwks = "file"
		}
		out[i] = client.Issuer{Issuer: c.Issuer, Audiences: c.Audiences, Algorithms: c.Algorithms, JWKS: jwks}
	}
	return out
}

// every calls fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (d *Daemon) flushUsage(ctx context.Context) {
	if d.ledger != nil {
		if err := d.ledger.ReturnLeases(true); err != nil {
			d.log.Warn("returning unused budget leases failed", "err", err)
		}
	}
	if err := d.budgets.Flush(ctx); err != nil {
		d.log.Warn("budget spending flush failed", "err", err)
	}
	if err := d.usage.Flush(ctx); err != nil {
		d.log.Warn("usage flush failed", "err", err)
	}
}

// Pooled instances unused for poolIdle are closed, and modules not invoked
// for moduleIdle are unloaded; both are checked every poolSweepInterval.
const (
	poolIdle          = time.Minute
	moduleIdle        = 10 * time.Minute
	poolSweepInterval = 20 * time.Second
)

// SweepPools closes pooled instances idle for longer than idle now,
// instead of at the next periodic sweep.
func (d *Daemon) SweepPools(ctx context.Context, idle time.Duration) { d.engine.Sweep(ctx, idle) }

// LoadedModules is how many modules are loaded, at most the configured
// MaxLoadedModules.
func (d *Daemon) LoadedModules() int { return d.engine.Loaded() }

// InterpretedModules is how many loaded modules the interpreter serves
// while their machine code compiles.
func (d *Daemon) InterpretedModules() int { return d.engine.Interpreted() }

// UnloadModules unloads modules not invoked for longer than idle now,
// instead of at the next periodic sweep.
func (d *Daemon) UnloadModules(ctx context.Context, idle time.Duration) { d.engine.Unload(ctx, idle) }

// Blobs and snapshot artefacts that no kept version of any function uses
// are deleted every gcInterval once they are older than gcGrace, which
// covers a deploy whose module is uploaded but not yet recorded.
const (
	gcInterval = time.Hour
	gcGrace    = time.Hour
)

func (d *Daemon) collectGarbage(ctx context.Context, grace time.Duration) (registry.GCReport, error) {
	report, err := d.reg.CollectGarbage(ctx, grace, runtime.ArtefactModuleDigest)
	if err != nil {
		d.log.Warn("garbage collection failed", "err", err, "deleted", len(report.Deleted))
		return report, err
	}
	if len(report.Deleted) > 0 {
		d.log.Info("garbage collected", "deleted", len(report.Deleted), "bytes", report.Bytes, "kept", report.Kept)
	}
	return report, nil
}

func (d *Daemon) sweepPools(ctx context.Context) {
	d.engine.Sweep(ctx, poolIdle)
	d.engine.Unload(ctx, moduleIdle)
}

// evictUnused frees, after every registry change, the modules that no kept
// version of any function uses any more, such as a removed function's.
func (d *Daemon) evictUnused(ctx context.Context, reg *registry.Registry, changed <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		used := map[string]bool{}
		for _, f := range reg.List() {
			for _, v := range f.Versions {
				used[v.Digest] = true
			}
		}
		d.engine.Retain(ctx, func(digest string) bool { return used[digest] })
	}
}

// warm loads active modules in the background, as many as the engine keeps
// loaded, so that the first request after a restart does not wait for
// compilation (the stored snapshots and the on-disk compilation cache make
// this fast after the first start).
func (d *Daemon) warm(ctx context.Context, reg *registry.Registry) {
	for _, f := range reg.List() {
		if d.engine.Full() {
			return // the rest load on their first call
		}
		digest := f.Current().Digest
		_, err := d.engine.Load(ctx, digest, func(ctx context.Context) ([]byte, error) { return reg.Blob(ctx, digest) })
		if err != nil && ctx.Err() == nil {
			d.log.Warn("module not preloaded", "function", f.Name, "err", err)
		}
	}
}

// AdminURL is the base URL of the admin API ("http://127.0.0.1:8081").
func (d *Daemon) AdminURL() string { return urlOf(d.adAddr, d.cfg.AdminTLS) }

// GatewayURL is the base URL of the gateway.
func (d *Daemon) GatewayURL() string { return urlOf(d.gwAddr, d.cfg.GatewayTLS) }

func urlOf(a net.Addr, t config.TLS) string {
	if a == nil {
		return ""
	}
	if t.Enabled() {
		return "https://" + a.String()
	}
	return "http://" + a.String()
}

// Shutdown stops accepting requests, lets in-flight invocations finish until
// ctx is done, writes what is pending and closes the store. It is safe to
// call on a daemon that failed to start.
func (d *Daemon) Shutdown(ctx context.Context) error {
	servers := []*http.Server{d.gateway, d.admin, d.metricsSrv}
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				// In-flight requests outlived the grace period: cut them.
				srv.Close()
				errs[i] = fmt.Errorf("http shutdown: %w", err)
			}
		}()
	}
	wg.Wait()
	if d.stop != nil {
		d.stop()
	}
	d.bg.Wait()
	if d.ledger != nil {
		if err := d.ledger.ReturnLeases(false); err != nil {
			d.log.Warn("returning unused budget leases failed", "err", err)
		}
	}
	if d.budgets != nil {
		if err := d.budgets.Flush(context.WithoutCancel(ctx)); err != nil {
			d.log.Warn("budget spending flush failed", "err", err)
		}
	}
	if d.usage != nil {
		if err := d.usage.Flush(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, err)
		}
	}
	if d.engine != nil {
		errs = append(errs, d.engine.Close(context.WithoutCancel(ctx)))
	}
	if d.nats != nil {
		errs = append(errs, d.nats.Close())
	}
	if d.unlock != nil {
		_ = os.Remove(d.cfg.AdminURLFile())
		d.unlock()
	}
	return errors.Join(errs...)
}

// Run starts the daemon, waits for ctx to be cancelled (the CLI cancels it on
// SIGINT/SIGTERM) and shuts down within the configured timeout.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := New(cfg, log)
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	return d.Shutdown(sctx)
}
