package posture

import (
	"cmp"
	"slices"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// A Function is one deployed, or about to be deployed, function as the
// rules see it.
type Function struct {
	// Name and Owner default to the manifest's.
	Name  string
	Owner string
	// Manifest is the function's parsed manifest. A function without one
	// is checked only on its module and usage.
	Manifest *manifest.Manifest
	// ManifestPath names the manifest in findings and is the artifact of
	// SARIF results: a path relative to the repository root for a
	// pipeline, say "functions/hello/pave.yaml". Default:
	// "<Name>/pave.yaml".
	ManifestPath string
	// Module is the WebAssembly module, or nil if it is not at hand; the
	// module rules run only with one.
	Module []byte

	// Live is true when the fields below were filled in from a running
	// daemon's records. The usage rules (unused functions, unused
	// grants) run only for live functions: for a function read from
	// files, a zero LastInvoked means "not known", not "never".
	Live bool
	// Deployed is when the active version was deployed.
	Deployed time.Time
	// LastInvoked is the last invocation; zero if never.
	LastInvoked time.Time
	// GrantUses maps a capability group (abi.CapabilityGroups) to the
	// last use the grant allowed; a group that is missing was never used.
	GrantUses map[string]time.Time
}

// A Secret is a stored secret's metadata: never its value.
type Secret struct {
	Name        string
	Created     time.Time
	LastRotated time.Time // zero if never rotated
}

// Input is what Check examines.
type Input struct {
	Functions []Function
	// Secrets are the stored secrets, for the rotation rule; secrets a
	// function is granted but that are not listed here are not judged.
	Secrets []Secret
	// Daemon is what a running daemon says of itself, for the rules that
	// are about no one function; zero in an offline check.
	Daemon Daemon
	// Policies are the organisation's rules, each violation of which is
	// a PAVE-POLICY finding; nil: none.
	Policies *policy.Set
}

// Daemon is the state of a running daemon that the daemon rules judge.
type Daemon struct {
	// AuditTampering is the tampering the daemon found in its audit log
	// (it then no longer seals the log), empty if none.
	AuditTampering string
	// AuditKeyInStore is the audit key file's path when that file lies
	// in the data directory of the embedded JetStream store, where whoever
	// can write the store can usually read the key; empty otherwise.
	AuditKeyInStore string
}

// Policy holds the thresholds of the rules. A zero field takes its value
// from DefaultPolicy; a negative duration or number turns its rule off.
type Policy struct {
	UnusedFunctionAfter time.Duration // default 30 days
	UnusedGrantAfter    time.Duration // default 30 days
	SecretRotateAfter   time.Duration // default 90 days
	MaxTimeout          time.Duration // default 60s
	MaxMemory           int64         // bytes; default 512 MiB
	MaxConcurrency      int           // default 256
	// KnownOwners are the owners a function may have; empty accepts any
	// non-empty owner.
	KnownOwners []string
	// OSV, if not nil, is the vulnerability database modules' Go build
	// information is checked against.
	OSV *OSV
	// Ignore lists rule ids not to report.
	Ignore []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

const day = 24 * time.Hour

// DefaultPolicy returns the policy a zero Policy stands for.
func DefaultPolicy() Policy {
	return Policy{
		UnusedFunctionAfter: 30 * day,
		UnusedGrantAfter:    30 * day,
		SecretRotateAfter:   90 * day,
		MaxTimeout:          60 * time.Second,
		MaxMemory:           512 << 20,
		MaxConcurrency:      256,
		Now:                 time.Now,
	}
}

// resolved returns p with its zero fields set to the defaults.
func (p Policy) resolved() Policy {
	d := DefaultPolicy()
	p.UnusedFunctionAfter = cmp.Or(p.UnusedFunctionAfter, d.UnusedFunctionAfter)
	p.UnusedGrantAfter = cmp.Or(p.UnusedGrantAfter, d.UnusedGrantAfter)
	p.SecretRotateAfter = cmp.Or(p.SecretRotateAfter, d.SecretRotateAfter)
	p.MaxTimeout = cmp.Or(p.MaxTimeout, d.MaxTimeout)
	p.MaxMemory = cmp.Or(p.MaxMemory, d.MaxMemory)
	p.MaxConcurrency = cmp.Or(p.MaxConcurrency, d.MaxConcurrency)
	if p.Now == nil {
		p.Now = d.Now
	}
	return p
}

// A Finding is one problem found in one function.
type Finding struct {
	Rule     string   `json:"rule"`     // a rule id, such as "PAVE-PUBLIC-ROUTE"
	Severity Severity `json:"severity"` // the rule's
	Risk     string   `json:"risk"`     // "SAS-1" to "SAS-12", the rule's
	Function string   `json:"function"`
	Owner    string   `json:"owner,omitempty"`
	// Subject is what in the function the finding is about, stable from
	// one report to the next: a route ("GET /x"), a grant
	// ("capabilities.kv"), a host, a secret's name, a limit
	// ("limits.timeout"), a vulnerability and package, ...
	Subject string `json:"subject"`
	// Evidence says what was found, in one line. It never holds a
	// secret's value; a credential found in a module is shown by at most
	// its first four characters.
	Evidence string `json:"evidence"`
	Fix      string `json:"fix"` // one sentence
	// File is the function's ManifestPath; Line, if not zero, the line
	// in it the finding concerns.
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// A Report is the result of Check.
type Report struct {
	Generated time.Time `json:"generated"`
	Functions int       `json:"functions"` // how many were checked
	// Findings are sorted by severity (highest first), function, rule id,
	// line and evidence.
	Findings []Finding `json:"findings"`
}

// AtOrAbove returns the findings of severity sev or higher, in report
// order: what a --fail-on flag fails on.
func (r *Report) AtOrAbove(sev Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity >= sev {
			out = append(out, f)
		}
	}
	return out
}

// Count returns how many findings have severity sev.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == sev {
			n++
		}
	}
	return n
}

// Check runs every rule over every function of in under policy p and
// returns the findings. It does not fail: a module it cannot read is a
// finding (PAVE-MODULE-NOT-SCANNED).
func Check(in Input, p Policy) *Report {
	p = p.resolved()
	c := &checker{p: p, now: p.Now(), secrets: map[string]Secret{}, rules: in.Policies}
	for _, s := range in.Secrets {
		c.secrets[s.Name] = s
	}
	for i := range in.Functions {
		c.function(&in.Functions[i])
	}
	c.daemon(in.Daemon)
	out := c.out[:0]
	for _, f := range c.out {
		if !slices.Contains(p.Ignore, f.Rule) {
			out = append(out, f)
		}
	}
	sortFindings(out)
	if out == nil {
		out = []Finding{}
	}
	return &Report{Generated: c.now, Functions: len(in.Functions), Findings: out}
}

// sortFindings puts findings in the order of every report: severity
// (highest first), function, rule, file, subject, line, evidence.
func sortFindings(fs []Finding) { slices.SortStableFunc(fs, compareFindings) }

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Function, b.Function),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Subject, b.Subject),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Evidence, b.Evidence),
	)
}
