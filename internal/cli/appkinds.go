package cli

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// A resourceKind is one kind of thing an app file declares. diff compares
// what the file declares with what the daemon runs and returns the
// changes that would make them equal, each with the function that makes
// it (nil when apply cannot). Adding a kind is adding an entry to
// resourceKinds, in the order apply creates and updates them (deletions
// go in the reverse order).
type resourceKind struct {
	name string
	diff func(ctx context.Context, s *appState) ([]*change, error)
}

var resourceKinds = []resourceKind{
	// Policies first: the functions the apply deploys are checked
	// against the set the file declares.
	{name: "policies", diff: diffPolicies},
	{name: "function", diff: diffFunctions},
	{name: "key", diff: diffKeys},
	{name: "budget", diff: diffBudgets},
	{name: "secret", diff: diffSecrets},
	{name: "issuer", diff: diffIssuers},
}

// Actions of changes.
const (
	actionCreate = "create"
	actionUpdate = "update"
	actionDelete = "delete"
	// actionMissing is a secret the environment lacks: apply does not set
	// secrets, and refuses to run without them.
	actionMissing = "missing"
	// actionDiffers is a difference apply cannot make: the daemon's own
	// configuration, such as its JWT issuers.
	actionDiffers = "differs"
)

// A change is one difference between an app file and a daemon.
type change struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	// Details say what differs: "module sha256:1 -> sha256:2".
	Details []string `json:"details,omitempty"`
	// Risks are the parts of the change that widen access: a grant that
	// widens, a route that becomes public, a key that may do more.
	Risks []string `json:"risks,omitempty"`
	// Note says why apply cannot make the change, for those it cannot.
	Note string `json:"note,omitempty"`

	// apply makes the change through c and returns what to tell the user
	// (a new key's secret), if anything.
	apply func(ctx context.Context, c *client.Client) (string, error)
}

// appState is what the kinds' diffs read: the app file, its functions
// built, and the daemon.
type appState struct {
	app *manifest.App
	// dir is the app file's directory.
	dir  string
	srcs []*source
	// digests are the built modules' digests, by function name.
	digests map[string]string
	// env is the environment selected, nil for none.
	env *manifest.AppEnvironment
	c   *client.Client
	// functions are the deployed functions, by name, with their active
	// version's manifest; filled by diffFunctions for the kinds after it.
	functions map[string]*client.Function
}

// diffFunctions compares the functions by the digest of their built
// module and the text of their manifest.
func diffFunctions(ctx context.Context, s *appState) ([]*change, error) {
	list, err := s.c.ListFunctions(ctx)
	if err != nil {
		return nil, err
	}
	s.functions = map[string]*client.Function{}
	for _, f := range list {
		s.functions[f.Name] = &f
	}
	var out []*change
	for _, src := range s.srcs {
		name := src.m.Name
		src := src
		deploy := func(ctx context.Context, c *client.Client) (string, error) {
			fn, err := src.deploy(ctx, c)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("version %d (%s)", fn.Version, shortDigest(fn.Digest)), nil
		}
		if _, ok := s.functions[name]; !ok {
			ch := &change{Kind: "function", Name: name, Action: actionCreate, apply: deploy,
				Details: []string{"from " + relDir(s.dir, src.dir) + ", module " + shortDigest(s.digests[name])}}
			for _, r := range src.m.Routes {
				if r.Public {
					ch.Risks = append(ch.Risks, "route "+r.Pattern()+" is public")
				}
			}
			out = append(out, ch)
			continue
		}
		full, err := s.c.GetFunction(ctx, name)
		if err != nil {
			return nil, err
		}
		s.functions[name] = full
		old := activeManifest(full)
		var details []string
		if full.Digest != s.digests[name] {
			details = append(details, "module "+shortDigest(full.Digest)+" -> "+shortDigest(s.digests[name]))
		}
		if old != string(src.text) {
			details = append(details, "manifest changed")
		}
		if len(details) == 0 {
			continue
		}
		ch := &change{Kind: "function", Name: name, Action: actionUpdate, Details: details, apply: deploy}
		if m, err := manifest.Parse(name, []byte(old)); err == nil {
			ch.Risks = functionRisks(m, src.m)
		}
		out = append(out, ch)
	}
	// The daemon refuses a route that another function holds, and
	// functions not declared are removed only at the end of an apply:
	// collisions are found now, before anything changes.
	ms := make([]*manifest.Manifest, 0, len(s.functions))
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		if slices.ContainsFunc(s.srcs, func(src *source) bool { return src.m.Name == name }) {
			continue
		}
		full, err := s.c.GetFunction(ctx, name)
		if err != nil {
			return nil, err
		}
		if m, err := manifest.Parse("function "+name+" on the daemon", []byte(activeManifest(full))); err == nil {
			ms = append(ms, m)
		}
	}
	for _, src := range s.srcs {
		ms = append(ms, src.m)
	}
	if err := manifest.CheckRoutes(ms); err != nil {
		return nil, fmt.Errorf("%w\n(a function the file does not declare keeps its routes until the end of an apply that removes it)", err)
	}
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		if slices.ContainsFunc(s.srcs, func(src *source) bool { return src.m.Name == name }) {
			continue
		}
		out = append(out, &change{Kind: "function", Name: name, Action: actionDelete,
			Details: []string{"deployed, but not declared"},
			apply: func(ctx context.Context, c *client.Client) (string, error) {
				return "", c.RemoveFunction(ctx, name)
			}})
	}
	return out, nil
}

// relDir names directory dir relative to base, with slashes.
func relDir(base, dir string) string {
	if rel, err := filepath.Rel(base, dir); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(dir)
}

// activeManifest returns the manifest text of f's active version.
func activeManifest(f *client.Function) string {
	for _, v := range f.Versions {
		if v.Number == f.Version {
			return v.Manifest
		}
	}
	return ""
}

// functionRisks lists what widens from manifest old to manifest new:
// routes that become public and grants that widen.
func functionRisks(old, new *manifest.Manifest) []string {
	var risks []string
	for _, r := range new.Routes {
		i := slices.IndexFunc(old.Routes, func(o manifest.Route) bool { return o.Pattern() == r.Pattern() })
		if r.Public && (i < 0 || !old.Routes[i].Public) {
			risks = append(risks, "route "+r.Pattern()+" becomes public")
		}
	}
	added := func(group string, old, new []string) {
		for _, g := range new {
			if !slices.Contains(old, g) {
				risks = append(risks, fmt.Sprintf("grant widens: %s +%s", group, g))
			}
		}
	}
	o, n := old.Capabilities, new.Capabilities
	added("secrets", o.Secrets, n.Secrets)
	added("http", o.HTTP, n.HTTP)
	added("invoke", o.Invoke, n.Invoke)
	added("publish", o.Publish, n.Publish)
	for _, bucket := range slices.Sorted(maps.Keys(n.KV)) {
		access, was := n.KV[bucket], o.KV[bucket]
		if was == "" || (access == manifest.KVWrite && was != manifest.KVWrite) {
			risks = append(risks, fmt.Sprintf("grant widens: kv %s %s", bucket, access))
		}
	}
	return risks
}

// diffKeys compares the active API keys with the keys declared. A key is
// changed in place, keeping its secret; one not declared is revoked.
func diffKeys(ctx context.Context, s *appState) ([]*change, error) {
	list, err := s.c.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]client.Key{}
	for _, k := range list {
		if !k.Revoked {
			running[k.Name] = k
		}
	}
	var out []*change
	for _, want := range s.app.Keys {
		want := want
		req := client.CreateKeyRequest{Name: want.Name, Functions: sortedCopy(want.Functions), Scopes: sortedCopy(want.Scopes), CIDRs: sortedCopy(want.Networks)}
		have, ok := running[want.Name]
		if !ok {
			if want.Expires > 0 {
				req.ExpiresIn = want.Expires.String()
			}
			out = append(out, &change{Kind: "key", Name: want.Name, Action: actionCreate,
				Details: []string{"functions " + strings.Join(req.Functions, ",")},
				apply: func(ctx context.Context, c *client.Client) (string, error) {
					resp, err := c.CreateKey(ctx, req)
					if err != nil {
						return "", err
					}
					return "secret " + resp.Secret + " (store it now: it will not be shown again)", nil
				}})
			continue
		}
		details, risks := keyDiff(have, req, want.Expires)
		if len(details) == 0 {
			continue
		}
		upd := client.ReplaceKeyRequest{Functions: req.Functions, Scopes: req.Scopes, CIDRs: req.CIDRs}
		if want.Expires > 0 {
			at := have.CreatedAt.Add(want.Expires)
			upd.ExpiresAt = &at
		}
		out = append(out, &change{Kind: "key", Name: want.Name, Action: actionUpdate, Details: details, Risks: risks,
			apply: func(ctx context.Context, c *client.Client) (string, error) {
				_, err := c.ReplaceKey(ctx, want.Name, upd)
				return "", err
			}})
	}
	for _, name := range slices.Sorted(maps.Keys(running)) {
		if slices.ContainsFunc(s.app.Keys, func(k manifest.AppKey) bool { return k.Name == name }) {
			continue
		}
		out = append(out, &change{Kind: "key", Name: name, Action: actionDelete,
			Details: []string{"active, but not declared; delete revokes it"},
			apply: func(ctx context.Context, c *client.Client) (string, error) {
				return "", c.RevokeKey(ctx, name)
			}})
	}
	return out, nil
}

// keyDiff says how key have differs from what want declares, and which
// of the differences let it do more.
func keyDiff(have client.Key, want client.CreateKeyRequest, expires time.Duration) (details, risks []string) {
	list := func(what string, have, want []string, wider func(added, removed []string) bool) {
		have = sortedCopy(have)
		if slices.Equal(have, want) {
			return
		}
		var added, removed []string
		for _, v := range want {
			if !slices.Contains(have, v) {
				added = append(added, v)
			}
		}
		for _, v := range have {
			if !slices.Contains(want, v) {
				removed = append(removed, v)
			}
		}
		d := what
		for _, v := range added {
			d += " +" + v
		}
		for _, v := range removed {
			d += " -" + v
		}
		details = append(details, d)
		if wider(added, removed) {
			risks = append(risks, "key widens: "+d)
		}
	}
	anyAdded := func(added, _ []string) bool { return len(added) > 0 }
	list("functions", have.Functions, want.Functions, anyAdded)
	list("scopes", have.Scopes, want.Scopes, anyAdded)
	// A network added, or every network removed, lets the key work from
	// more places.
	list("networks", have.CIDRs, want.CIDRs, func(added, removed []string) bool {
		return len(added) > 0 || len(want.CIDRs) == 0
	})
	var had time.Duration
	if have.ExpiresAt != nil {
		had = have.ExpiresAt.Sub(have.CreatedAt)
	}
	if d := (had - expires).Abs(); d >= time.Second {
		details = append(details, "expires "+formatExpiry(had)+" -> "+formatExpiry(expires)+" after creation")
		if had != 0 && (expires == 0 || expires > had) {
			risks = append(risks, "key widens: expires later")
		}
	}
	return details, risks
}

func formatExpiry(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

func sortedCopy(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// diffBudgets compares the operator's budget overrides with the budgets
// declared; the budgets of manifests and the daemon's default are not the
// app file's.
func diffBudgets(ctx context.Context, s *appState) ([]*change, error) {
	list, err := s.c.ListBudgets(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]client.Budget{}
	for _, st := range list {
		if st.Source == "override" {
			running[st.Subject] = st.Budget
		}
	}
	var out []*change
	for _, want := range s.app.Budgets {
		b := client.Budget{Window: string(want.Budget.Window), Invocations: want.Budget.Invocations,
			ComputeGBSeconds: want.Budget.ComputeGBs, RequestBytes: want.Budget.RequestBytes}
		subject := want.Subject
		set := func(ctx context.Context, c *client.Client) (string, error) {
			_, err := c.SetBudget(ctx, subject, b)
			return "", err
		}
		have, ok := running[subject]
		switch {
		case !ok:
			out = append(out, &change{Kind: "budget", Name: subject, Action: actionCreate, Details: []string{formatBudget(b)}, apply: set})
		case have != b:
			ch := &change{Kind: "budget", Name: subject, Action: actionUpdate, Details: []string{formatBudget(have) + " -> " + formatBudget(b)}, apply: set}
			if budgetWidens(have, b) {
				ch.Risks = []string{"budget widens: a cap is raised or removed"}
			}
			out = append(out, ch)
		}
	}
	for _, subject := range slices.Sorted(maps.Keys(running)) {
		if slices.ContainsFunc(s.app.Budgets, func(b manifest.AppBudget) bool { return b.Subject == subject }) {
			continue
		}
		out = append(out, &change{Kind: "budget", Name: subject, Action: actionDelete,
			Details: []string{"override not declared: " + formatBudget(running[subject])},
			Risks:   []string{"budget widens: the override is removed"},
			apply: func(ctx context.Context, c *client.Client) (string, error) {
				return "", c.ClearBudget(ctx, subject)
			}})
	}
	return out, nil
}

// budgetWidens reports whether new lets a subject spend more than old in
// some way: a cap raised or removed, or a longer window.
func budgetWidens(old, new client.Budget) bool {
	wider := func(o, n float64) bool { return o != 0 && (n == 0 || n > o) }
	return wider(float64(old.Invocations), float64(new.Invocations)) ||
		wider(old.ComputeGBSeconds, new.ComputeGBSeconds) ||
		wider(float64(old.RequestBytes), float64(new.RequestBytes)) ||
		old.Window != new.Window
}

func formatBudget(b client.Budget) string {
	parts := []string{"per " + b.Window}
	if b.Invocations != 0 {
		parts = append(parts, fmt.Sprintf("%d invocations", b.Invocations))
	}
	if b.ComputeGBSeconds != 0 {
		parts = append(parts, formatGBs(b.ComputeGBSeconds)+" GB-s")
	}
	if b.RequestBytes != 0 {
		parts = append(parts, limits.FormatSize(b.RequestBytes)+" requests")
	}
	return strings.Join(parts, ", ")
}

// diffSecrets lists the secrets the selected environment must have and
// the daemon lacks. Apply never sets or removes secrets: their values are
// not in the file.
func diffSecrets(ctx context.Context, s *appState) ([]*change, error) {
	if s.env == nil || len(s.env.Secrets) == 0 {
		return nil, nil
	}
	list, err := s.c.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	var out []*change
	for _, name := range s.env.Secrets {
		if !slices.ContainsFunc(list, func(i client.SecretInfo) bool { return i.Name == name && len(i.Versions) > 0 }) {
			out = append(out, &change{Kind: "secret", Name: name, Action: actionMissing,
				Note: fmt.Sprintf("environment %s needs it: set it with 'pave secret set %s'", s.env.Name, name)})
		}
	}
	return out, nil
}

// diffIssuers compares the JWT issuers the daemon trusts with those
// declared. They are the daemon's configuration (--jwt-issuers), which
// apply cannot change: it reports the differences and drift fails on them.
func diffIssuers(ctx context.Context, s *appState) ([]*change, error) {
	list, err := s.c.ListIssuers(ctx)
	if err != nil {
		return nil, err
	}
	const note = "outside apply's reach: the daemon's --jwt-issuers file sets it"
	var out []*change
	for _, want := range s.app.Issuers {
		i := slices.IndexFunc(list, func(is client.Issuer) bool { return is.Issuer == want.Issuer })
		if i < 0 {
			out = append(out, &change{Kind: "issuer", Name: want.Issuer, Action: actionDiffers, Details: []string{"declared, but not trusted by the daemon"}, Note: note})
			continue
		}
		have := list[i]
		var details []string
		if !slices.Equal(sortedCopy(have.Audiences), sortedCopy(want.Audiences)) {
			details = append(details, "audiences "+strings.Join(have.Audiences, ",")+" -> "+strings.Join(want.Audiences, ","))
		}
		if len(want.Algorithms) > 0 && !slices.Equal(sortedCopy(have.Algorithms), sortedCopy(want.Algorithms)) {
			details = append(details, "algorithms "+strings.Join(have.Algorithms, ",")+" -> "+strings.Join(want.Algorithms, ","))
		}
		if len(details) > 0 {
			out = append(out, &change{Kind: "issuer", Name: want.Issuer, Action: actionDiffers, Details: details, Note: note})
		}
	}
	for _, have := range list {
		if !slices.ContainsFunc(s.app.Issuers, func(is manifest.AppIssuer) bool { return is.Issuer == have.Issuer }) {
			out = append(out, &change{Kind: "issuer", Name: have.Issuer, Action: actionDiffers,
				Details: []string{"trusted by the daemon, but not declared"}, Note: note,
				Risks: []string{"tokens of an undeclared issuer are accepted"}})
		}
	}
	return out, nil
}

// loadAppSources reads the manifest of every function the app declares,
// checking that no two share a name.
func loadAppSources(a *manifest.App, dir string) ([]*source, error) {
	var srcs []*source
	var errs []string
	for i, fdir := range a.Functions {
		src, err := loadSource(filepath.Join(dir, filepath.FromSlash(fdir)))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: functions[%d]: %v", a.File, a.Line(fmt.Sprintf("functions[%d]", i)), i, err))
			continue
		}
		if j := slices.IndexFunc(srcs, func(s *source) bool { return s.m.Name == src.m.Name }); j >= 0 {
			errs = append(errs, fmt.Sprintf("%s:%d: functions[%d]: function %s is already declared by %s", a.File, a.Line(fmt.Sprintf("functions[%d]", i)), i, src.m.Name, srcs[j].dir))
			continue
		}
		srcs = append(srcs, src)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return srcs, nil
}

// buildAll builds every function and returns the digests of their
// modules, by name.
func buildAll(ctx context.Context, srcs []*source, inv *invocation) (map[string]string, error) {
	digests := map[string]string{}
	for _, src := range srcs {
		if err := src.build(ctx, inv.stderr); err != nil {
			return nil, err
		}
		module, err := os.ReadFile(src.wasm)
		if err != nil {
			return nil, err
		}
		digests[src.m.Name] = client.Digest(module)
	}
	return digests, nil
}

// diffPolicies checks every function of the app against the policies that
// will be in force, the file's if it declares them and otherwise the
// daemon's, so that a violation stops plan and apply before anything
// changes; and, when the file declares them, compares them with the
// daemon's set, which apply replaces whole.
func diffPolicies(ctx context.Context, s *appState) ([]*change, error) {
	have, err := s.c.Policies(ctx)
	if err != nil {
		return nil, err
	}
	rules := s.app.Policies
	if !s.app.PoliciesDeclared {
		rules = nil
		for _, p := range have {
			rules = append(rules, policy.Rule{Name: p.Name, Expression: p.Expression, Message: p.Message, Each: p.Each})
		}
	}
	set, err := policy.Compile(rules)
	if err != nil {
		return nil, fmt.Errorf("%s: policies: %w", s.app.File, err)
	}
	var violations []string
	for _, src := range s.srcs {
		for _, v := range set.Check(src.m) {
			violations = append(violations, "function "+src.m.Name+": "+v.String())
		}
	}
	if len(violations) > 0 {
		return nil, fmt.Errorf("the app's functions violate the policies:\n  %s", strings.Join(violations, "\n  "))
	}
	if !s.app.PoliciesDeclared {
		return nil, nil
	}
	want := make([]client.Policy, 0, len(s.app.Policies))
	for _, r := range s.app.Policies {
		want = append(want, client.Policy{Name: r.Name, Expression: r.Expression, Message: r.Message, Each: r.Each})
	}
	byName := func(list []client.Policy) map[string]client.Policy {
		m := map[string]client.Policy{}
		for _, p := range list {
			m[p.Name] = p
		}
		return m
	}
	haveBy, wantBy := byName(have), byName(want)
	var details, risks []string
	for _, p := range want {
		old, ok := haveBy[p.Name]
		switch {
		case !ok:
			details = append(details, "+ rule "+p.Name)
		case old != p:
			details = append(details, "~ rule "+p.Name)
			risks = append(risks, "rule "+p.Name+" changes: what it refused may be allowed")
		}
	}
	for _, p := range have {
		if _, ok := wantBy[p.Name]; !ok {
			details = append(details, "- rule "+p.Name)
			risks = append(risks, "rule "+p.Name+" is removed: what it refused is allowed")
		}
	}
	if len(details) == 0 {
		return nil, nil
	}
	action := actionUpdate
	if len(have) == 0 {
		action = actionCreate
	}
	return []*change{{Kind: "policies", Name: s.app.Name, Action: action, Details: details, Risks: risks,
		apply: func(ctx context.Context, c *client.Client) (string, error) {
			_, err := c.SetPolicies(ctx, want)
			return "", err
		}}}, nil
}
