package posture

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/secrets"
)

// fakeRegistry holds deployed functions, their manifests and modules, and
// counts the module reads.
type fakeRegistry struct {
	fns       []*registry.Function
	manifests map[string]string // by digest
	modules   map[string][]byte // by digest
	reads     int
}

func (r *fakeRegistry) List() []*registry.Function { return r.fns }

func (r *fakeRegistry) Manifest(_ context.Context, v *registry.Version) (string, error) {
	return r.manifests[v.Digest], nil
}

func (r *fakeRegistry) Blob(_ context.Context, digest string) ([]byte, error) {
	r.reads++
	return r.modules[digest], nil
}

type noUsage struct{}

func (noUsage) Of(string) registry.FunctionUse { return registry.FunctionUse{} }

type fakeSecretList []secrets.Info

func (l fakeSecretList) List(context.Context) ([]secrets.Info, error) { return l, nil }

func rulesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Function+" "+f.File)
	}
	return out
}

func TestCheckerReportsDeployedFunctions(t *testing.T) {
	leaky := moduleWithData(active(0x1000, []byte("key="+awsKey(t))))
	reg := &fakeRegistry{
		fns: []*registry.Function{{Name: "orders", Owner: "team-a", Active: 1, Versions: []registry.Version{{
			Number: 1, Digest: "d1", ManifestFile: "/home/me/repo/pave.yaml", DeployedAt: time.Now()}}}},
		manifests: map[string]string{"d1": publicRoute},
		modules:   map[string][]byte{"d1": leaky},
	}
	c := NewChecker(CheckerDeps{Functions: reg, Usage: noUsage{},
		Secrets: fakeSecretList{{Name: "OLD", CreatedAt: time.Now().AddDate(-2, 0, 0), RotatedAt: time.Now().AddDate(-2, 0, 0)}},
		Daemon:  func() Daemon { return Daemon{AuditTampering: "record 7 was changed"} },
	}, CheckerConfig{Policy: DefaultPolicy()})
	for range 2 {
		r, err := c.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := rulesOf(r.Findings)
		for _, want := range []string{RuleHardcodedSecret + " orders orders/pave.yaml", RulePublicRoute + " orders orders/pave.yaml"} {
			if !slices.Contains(got, want) {
				t.Errorf("findings %q lack %q", got, want)
			}
		}
		if !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Rule == RuleAuditTampered }) {
			t.Errorf("findings %q lack the daemon's", got)
		}
		// A live report orders its findings as Check does, file and
		// subject included, not by a shorter order of its own.
		if !slices.IsSortedFunc(r.Findings, compareFindings) {
			t.Errorf("findings not in report order: %q", got)
		}
	}
	if reg.reads != 1 {
		t.Errorf("the module was read %d times for two reports, want once", reg.reads)
	}
}

func TestCheckerRefusesDeploysOnlyWhenAsked(t *testing.T) {
	leaky := moduleWithData(active(0x1000, []byte("key="+awsKey(t))))
	m := mustParse(t, head)
	off := NewChecker(CheckerDeps{Functions: &fakeRegistry{}, Usage: noUsage{}}, CheckerConfig{Policy: DefaultPolicy()})
	if got, err := off.CheckDeploy(context.Background(), m, "d1", leaky); err != nil || got != nil {
		t.Errorf("without FailOn: %v, %v", got, err)
	}
	high := SeverityHigh
	on := NewChecker(CheckerDeps{Functions: &fakeRegistry{}, Usage: noUsage{}}, CheckerConfig{Policy: DefaultPolicy(), FailOn: &high})
	got, err := on.CheckDeploy(context.Background(), m, "d1", leaky)
	if err != nil || !slices.ContainsFunc(got, func(f Finding) bool { return f.Rule == RuleHardcodedSecret && f.Function == m.Name }) {
		t.Errorf("with FailOn high: %v, %v", rulesOf(got), err)
	}
}

func TestManifestPath(t *testing.T) {
	for file, want := range map[string]string{
		"pave.yaml":                 "orders/pave.yaml",
		"functions/orders/pave.yml": "functions/orders/pave.yml",
		"/home/me/repo/pave.yaml":   "orders/pave.yaml",
		"../elsewhere/pave.yaml":    "orders/pave.yaml",
	} {
		if got := manifestPath("orders", file); got != want {
			t.Errorf("manifestPath(%q) = %q, want %q", file, got, want)
		}
	}
}
