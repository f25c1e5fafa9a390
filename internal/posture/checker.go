package posture

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/secrets"
)

// Registry is what a Checker reads of the deployed functions;
// *registry.Registry provides it.
type Registry interface {
	List() []*registry.Function
	Manifest(ctx context.Context, v *registry.Version) (string, error)
	Blob(ctx context.Context, digest string) ([]byte, error)
}

// UsageRecords is what a Checker reads of the functions' use;
// *registry.Usage provides it.
type UsageRecords interface {
	Of(function string) registry.FunctionUse
}

// SecretLister lists the stored secrets with their dates; the daemon's
// secrets store provides it.
type SecretLister interface {
	List(ctx context.Context) ([]secrets.Info, error)
}

// CheckerDeps are what a Checker reads at each report.
type CheckerDeps struct {
	Functions Registry
	Usage     UsageRecords
	Secrets   SecretLister  // nil: no secret is checked
	Daemon    func() Daemon // the daemon's own state, read at each report
	// Policies returns the organisation's policy set, read at each
	// report; nil: none.
	Policies func(ctx context.Context) (*policy.Set, error)
	Log      *slog.Logger
}

// CheckerConfig is how a Checker judges.
type CheckerConfig struct {
	Policy Policy     // its OSV is replaced by OSV's current database
	OSV    *OSVSource // nil: no vulnerability database
	FailOn *Severity  // nil: deploys are not refused
}

// Checker runs the rules over what a daemon has deployed, and over a
// deploy before it is recorded. Module rules (hard-coded secrets, the Go
// build information against the OSV database) read the whole module, so
// their findings are kept per module digest: a module never changes. They
// are made again when the vulnerability database's files change.
type Checker struct {
	deps   CheckerDeps
	policy Policy
	failOn *Severity
	osv    *OSVSource

	mu      sync.Mutex
	modules map[string]moduleFindings // by digest
}

// moduleFindings are the module rules' findings of one module, Function
// unset, made with the vulnerability database osv.
type moduleFindings struct {
	osv      *OSV
	findings []Finding
}

// NewChecker returns a Checker over deps.
func NewChecker(deps CheckerDeps, cfg CheckerConfig) *Checker {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Daemon == nil {
		deps.Daemon = func() Daemon { return Daemon{} }
	}
	return &Checker{deps: deps, policy: cfg.Policy, failOn: cfg.FailOn, osv: cfg.OSV, modules: map[string]moduleFindings{}}
}

// manifestPath names a deployed function's manifest in reports: as pave
// deploy sent it, relative to the repository root. A name an older client
// sent, typed as the user typed it, never becomes a local absolute path:
// it is cut to its base name, and put under the function's name.
func manifestPath(function, file string) string {
	if !filepath.IsLocal(filepath.FromSlash(file)) {
		file = filepath.Base(filepath.FromSlash(file))
	}
	if !strings.Contains(file, "/") {
		return function + "/" + file
	}
	return file
}

// currentPolicy returns the policy with the vulnerability database as it
// is now: read again when its files changed. A database that cannot be
// read again leaves the old one in use, and says so in the log.
func (c *Checker) currentPolicy() Policy {
	p := c.policy
	if c.osv == nil {
		return p
	}
	db, changed, err := c.osv.Current()
	if err != nil {
		c.deps.Log.Error("the vulnerability database cannot be read again; the one loaded before stays in use", "err", err)
	}
	if changed { // the cached module findings name the old database: they are made again
		c.deps.Log.Info("reloaded the vulnerability database", "records", db.Records())
	}
	p.OSV = db
	return p
}

// Report checks every deployed function.
func (c *Checker) Report(ctx context.Context) (*Report, error) {
	policy := c.currentPolicy()
	var in Input
	var fromModules []Finding
	for _, f := range c.deps.Functions.List() {
		v := f.Current()
		text, err := c.deps.Functions.Manifest(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("manifest of %s: %w", f.Name, err)
		}
		m, err := manifest.Parse(v.ManifestFile, []byte(text))
		if err != nil {
			return nil, fmt.Errorf("manifest of %s: %w", f.Name, err)
		}
		use := c.deps.Usage.Of(f.Name)
		path := manifestPath(f.Name, v.ManifestFile)
		in.Functions = append(in.Functions, Function{
			Name: f.Name, Owner: f.Owner, Manifest: m, ManifestPath: path, Live: true,
			Deployed: v.DeployedAt, LastInvoked: use.LastInvoked, GrantUses: use.Grants,
		})
		mf, err := c.moduleFindings(ctx, policy, v.Digest, func(ctx context.Context) ([]byte, error) { return c.deps.Functions.Blob(ctx, v.Digest) })
		if err != nil {
			return nil, err
		}
		for _, x := range mf {
			x.Function, x.Owner, x.File = f.Name, f.Owner, path
			fromModules = append(fromModules, x)
		}
	}
	if c.deps.Secrets != nil {
		list, err := c.deps.Secrets.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		for _, s := range list {
			in.Secrets = append(in.Secrets, Secret{Name: s.Name, Created: s.CreatedAt, LastRotated: s.RotatedAt})
		}
	}
	in.Daemon = c.deps.Daemon()
	if c.deps.Policies != nil {
		set, err := c.deps.Policies(ctx)
		if err != nil {
			return nil, err
		}
		in.Policies = set
	}
	r := Check(in, policy)
	r.Findings = append(r.Findings, fromModules...)
	sortFindings(r.Findings)
	return r, nil
}

// moduleFindings returns the module rules' findings of digest.
func (c *Checker) moduleFindings(ctx context.Context, policy Policy, digest string, fetch func(context.Context) ([]byte, error)) ([]Finding, error) {
	c.mu.Lock()
	cached, ok := c.modules[digest]
	c.mu.Unlock()
	if ok && cached.osv == policy.OSV {
		return cached.findings, nil
	}
	wasm, err := fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", digest, err)
	}
	r := Check(Input{Functions: []Function{{Name: "module", Owner: "-", Module: wasm}}}, policy)
	c.mu.Lock()
	c.modules[digest] = moduleFindings{osv: policy.OSV, findings: r.Findings}
	c.mu.Unlock()
	return r.Findings, nil
}

// CheckDeploy returns the findings of a function about to be deployed that
// reach FailOn; none when deploys are not checked.
func (c *Checker) CheckDeploy(ctx context.Context, m *manifest.Manifest, digest string, wasm []byte) ([]Finding, error) {
	if c.failOn == nil {
		return nil, nil
	}
	policy := c.currentPolicy()
	r := Check(Input{Functions: []Function{{Name: m.Name, Owner: m.Owner, Manifest: m, ManifestPath: m.Name + "/" + m.File}}}, policy)
	mf, err := c.moduleFindings(ctx, policy, digest, func(context.Context) ([]byte, error) { return wasm, nil })
	if err != nil {
		return nil, err
	}
	for _, x := range mf {
		x.Function, x.Owner = m.Name, m.Owner
		r.Findings = append(r.Findings, x)
	}
	sortFindings(r.Findings)
	return r.AtOrAbove(*c.failOn), nil
}
