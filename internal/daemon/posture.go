package daemon

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/secrets"
)

// postureChecker runs the posture rules over what is deployed, and over a
// deploy before it is recorded. Module rules (hard-coded secrets, the Go
// build information against the OSV database) read the whole module, so
// their findings are kept per module digest: a module never changes.
type postureChecker struct {
	reg    *registry.Registry
	usage  *registry.Usage
	vault  secretLister
	policy posture.Policy
	failOn *posture.Severity // nil: deploys are not refused
	daemon func() posture.Daemon
	osv    *posture.OSVSource // nil without --osv-file
	log    *slog.Logger

	mu      sync.Mutex
	modules map[string]moduleFindings // by digest
}

// moduleFindings are the module rules' findings of one module, Function
// unset, made with the vulnerability database osv.
type moduleFindings struct {
	osv      *posture.OSV
	findings []posture.Finding
}

// secretLister lists secrets with their dates; the daemon's vault.
type secretLister interface {
	List(ctx context.Context) ([]secrets.Info, error)
}

func newPostureChecker(d *Daemon, vault secretLister) (*postureChecker, error) {
	o := d.cfg.Observability
	p := posture.DefaultPolicy()
	p.UnusedFunctionAfter, p.UnusedGrantAfter = o.UnusedAfter, o.UnusedAfter
	c := &postureChecker{reg: d.reg, usage: d.usage, vault: vault, policy: p, modules: map[string]moduleFindings{}, log: d.log}
	if o.OSVFile != "" {
		src, err := posture.OpenOSV(o.OSVFile)
		if err != nil {
			return nil, fmt.Errorf("--osv-file: %w", err)
		}
		c.osv = src
		db, _, _ := src.Current()
		d.log.Info("loaded the vulnerability database", "file", o.OSVFile, "records", db.Records())
	}
	keyPath := keyInStore(d.cfg, d.nats.Embedded())
	c.daemon = func() posture.Daemon {
		return posture.Daemon{AuditTampering: d.audit.tampering(), AuditKeyInStore: keyPath}
	}
	if o.DeployFailOn != "" {
		s, err := posture.ParseSeverity(o.DeployFailOn)
		if err != nil {
			return nil, fmt.Errorf("--deploy-fail-on: %w", err)
		}
		c.failOn = &s
	}
	return c, nil
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
// is now: read again when its files changed. A database that cannot be read again
// leaves the old one in use, and says so in the log.
func (c *postureChecker) currentPolicy() posture.Policy {
	p := c.policy
	if c.osv == nil {
		return p
	}
	db, changed, err := c.osv.Current()
	if err != nil {
		c.log.Error("the vulnerability database cannot be read again; the one loaded before stays in use", "err", err)
	}
	if changed { // the cached module findings name the old database: they are made again
		c.log.Info("reloaded the vulnerability database", "records", db.Records())
	}
	p.OSV = db
	return p
}

// Report checks every deployed function.
func (c *postureChecker) Report(ctx context.Context) (*posture.Report, error) {
	policy := c.currentPolicy()
	var in posture.Input
	var fromModules []posture.Finding
	for _, f := range c.reg.List() {
		v := f.Current()
		text, err := c.reg.Manifest(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("manifest of %s: %w", f.Name, err)
		}
		m, err := manifest.Parse(v.ManifestFile, []byte(text))
		if err != nil {
			return nil, fmt.Errorf("manifest of %s: %w", f.Name, err)
		}
		use := c.usage.Of(f.Name)
		path := manifestPath(f.Name, v.ManifestFile)
		in.Functions = append(in.Functions, posture.Function{
			Name: f.Name, Owner: f.Owner, Manifest: m, ManifestPath: path, Live: true,
			Deployed: v.DeployedAt, LastInvoked: use.LastInvoked, GrantUses: use.Grants,
		})
		mf, err := c.moduleFindings(ctx, policy, v.Digest, func(ctx context.Context) ([]byte, error) { return c.reg.Blob(ctx, v.Digest) })
		if err != nil {
			return nil, err
		}
		for _, x := range mf {
			x.Function, x.Owner, x.File = f.Name, f.Owner, path
			fromModules = append(fromModules, x)
		}
	}
	if c.vault != nil {
		list, err := c.vault.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		for _, s := range list {
			in.Secrets = append(in.Secrets, posture.Secret{Name: s.Name, Created: s.CreatedAt, LastRotated: s.RotatedAt})
		}
	}
	in.Daemon = c.daemon()
	r := posture.Check(in, policy)
	r.Findings = append(r.Findings, fromModules...)
	sortFindings(r.Findings)
	return r, nil
}

// moduleFindings returns the module rules' findings of digest.
func (c *postureChecker) moduleFindings(ctx context.Context, policy posture.Policy, digest string, fetch func(context.Context) ([]byte, error)) ([]posture.Finding, error) {
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
	r := posture.Check(posture.Input{Functions: []posture.Function{{Name: "module", Owner: "-", Module: wasm}}}, policy)
	c.mu.Lock()
	c.modules[digest] = moduleFindings{osv: policy.OSV, findings: r.Findings}
	c.mu.Unlock()
	return r.Findings, nil
}

// CheckDeploy returns the findings of a function about to be deployed that
// reach --deploy-fail-on; none when deploys are not checked.
func (c *postureChecker) CheckDeploy(ctx context.Context, m *manifest.Manifest, digest string, wasm []byte) ([]posture.Finding, error) {
	if c.failOn == nil {
		return nil, nil
	}
	policy := c.currentPolicy()
	r := posture.Check(posture.Input{Functions: []posture.Function{{Name: m.Name, Owner: m.Owner, Manifest: m, ManifestPath: m.Name + "/" + m.File}}}, policy)
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

// sortFindings orders findings as posture reports do: severity (highest
// first), function, rule, line, evidence.
func sortFindings(fs []posture.Finding) {
	slices.SortStableFunc(fs, func(a, b posture.Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Function, b.Function),
			cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Evidence, b.Evidence))
	})
}
