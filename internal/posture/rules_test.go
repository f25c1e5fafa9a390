package posture

import (
	"bytes"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

const head = "name: fn\nowner: team-a\n"

const privateRoute = head + `routes:
  - method: GET
    path: /x
`

const publicRoute = head + `routes:
  - method: GET
    path: /x
    public: true
`

// TestRules gives each rule an input that triggers it and one that does
// not. Each row checks one rule only: how many findings of that rule the
// input produces, and what their evidence says.
func TestRules(t *testing.T) {
	kv := head + "capabilities:\n  kv: {notes: write}\n"
	secretGrant := head + "capabilities:\n  secrets: [STRIPE_KEY]\n"
	vulnerable := moduleWithData(active(0x1000, blob("go1.30.1", testModInfo)))
	db, err := ParseOSV([]byte(osvRecord1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		rule     string
		fn       Function
		secrets  []Secret
		policy   func(*Policy)
		want     int      // findings of rule
		evidence []string // each in the first finding's evidence
		line     int      // of the first finding
	}{
		{name: "public route", rule: RulePublicRoute, fn: Function{Manifest: mustParse(t, publicRoute)}, want: 1,
			evidence: []string{"GET /x", "public"}, line: 4},
		{name: "private route", rule: RulePublicRoute, fn: Function{Manifest: mustParse(t, privateRoute)}},
		{name: "two public routes", rule: RulePublicRoute, fn: Function{Manifest: mustParse(t, publicRoute+"  - method: POST\n    path: /y\n    public: true\n")}, want: 2, line: 4},

		{name: "public route without a schema", rule: RulePublicNoContract, fn: Function{Manifest: mustParse(t, publicRoute)}, want: 1,
			evidence: []string{"GET /x"}, line: 4},
		{name: "public route with a query schema", rule: RulePublicNoContract,
			fn: Function{Manifest: mustParse(t, publicRoute+"    schema: {query: {type: object}}\n")}},
		{name: "public route with a body schema", rule: RulePublicNoContract,
			fn: Function{Manifest: mustParse(t, publicRoute+"    schema: {body: {type: object}}\n")}},
		{name: "private route without a schema", rule: RulePublicNoContract, fn: Function{Manifest: mustParse(t, privateRoute)}},

		{name: "topic trigger without a schema", rule: RuleTriggerNoSchema,
			fn: Function{Manifest: mustParse(t, privateRoute+"triggers:\n  - topic: orders.created\n  - schedule: \"@daily\"\n")}, want: 1,
			evidence: []string{"orders.created"}, line: 7},
		{name: "topic trigger with a schema", rule: RuleTriggerNoSchema,
			fn: Function{Manifest: mustParse(t, privateRoute+"triggers:\n  - topic: orders.created\n    schema: {type: object}\n")}},

		{name: "public route, no rate limit", rule: RulePublicNoRateLimit, fn: Function{Manifest: mustParse(t, publicRoute)}, want: 1, line: 4},
		{name: "public route, caller rate limit", rule: RulePublicNoRateLimit,
			fn: Function{Manifest: mustParse(t, publicRoute+"rate_limit:\n  caller: {rate: 10/s}\n")}},
		{name: "public route, budget", rule: RulePublicNoRateLimit,
			fn: Function{Manifest: mustParse(t, publicRoute+"budget:\n  invocations: 1000\n")}},
		{name: "private route, no rate limit", rule: RulePublicNoRateLimit, fn: Function{Manifest: mustParse(t, privateRoute)}},

		{name: "grant never used since an old deploy", rule: RuleUnusedGrant,
			fn:   Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(60), LastInvoked: daysAgo(1)},
			want: 1, evidence: []string{"kv grant (notes: write)", "never used", "2026-04-02", "60 days"}, line: 4},
		{name: "grant used long ago, deployed long ago", rule: RuleUnusedGrant,
			fn:   Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(90), GrantUses: map[string]time.Time{"kv": daysAgo(45)}},
			want: 1, evidence: []string{"last used on 2026-04-17", "45 days"}, line: 4},
		{name: "grant used recently", rule: RuleUnusedGrant,
			fn: Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(60), GrantUses: map[string]time.Time{"kv": daysAgo(2)}}},
		{name: "grant used long ago, deployed recently", rule: RuleUnusedGrant,
			fn: Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(5), GrantUses: map[string]time.Time{"kv": daysAgo(45)}}},
		{name: "grant unused, but offline", rule: RuleUnusedGrant,
			fn: Function{Manifest: mustParse(t, kv), Deployed: daysAgo(60)}},
		{name: "grant unused, live but no dates", rule: RuleUnusedGrant,
			fn: Function{Manifest: mustParse(t, kv), Live: true}},
		{name: "use of another group does not count", rule: RuleUnusedGrant,
			fn:   Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(60), GrantUses: map[string]time.Time{"secrets": daysAgo(1)}},
			want: 1, line: 4},
		{name: "every unused group", rule: RuleUnusedGrant,
			fn: Function{Manifest: mustParse(t, head+"capabilities:\n  secrets: [A]\n  kv: {b: read}\n  http: [api.example.com]\n  invoke: [other]\n  publish: [orders.created]\n"),
				Live: true, Deployed: daysAgo(31)},
			want: 5, line: 6},
		{name: "unused grant rule off", rule: RuleUnusedGrant,
			fn:     Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(60)},
			policy: func(p *Policy) { p.UnusedGrantAfter = -1 }},
		{name: "longer unused grant threshold", rule: RuleUnusedGrant,
			fn:     Function{Manifest: mustParse(t, kv), Live: true, Deployed: daysAgo(60)},
			policy: func(p *Policy) { p.UnusedGrantAfter = 90 * day }},

		{name: "invoked long ago", rule: RuleUnusedFunction,
			fn:   Function{Manifest: mustParse(t, privateRoute), Live: true, Deployed: daysAgo(100), LastInvoked: daysAgo(40)},
			want: 1, evidence: []string{"last invoked on 2026-04-22", "40 days"}, line: 1},
		{name: "never invoked, deployed long ago", rule: RuleUnusedFunction,
			fn:   Function{Manifest: mustParse(t, privateRoute), Live: true, Deployed: daysAgo(40)},
			want: 1, evidence: []string{"never invoked", "2026-04-22"}, line: 1},
		{name: "invoked recently", rule: RuleUnusedFunction,
			fn: Function{Manifest: mustParse(t, privateRoute), Live: true, Deployed: daysAgo(100), LastInvoked: daysAgo(2)}},
		{name: "never invoked, deployed recently", rule: RuleUnusedFunction,
			fn: Function{Manifest: mustParse(t, privateRoute), Live: true, Deployed: daysAgo(5)}},
		{name: "not invoked, but offline", rule: RuleUnusedFunction,
			fn: Function{Manifest: mustParse(t, privateRoute), Deployed: daysAgo(100)}},
		{name: "live without any dates", rule: RuleUnusedFunction,
			fn: Function{Manifest: mustParse(t, privateRoute), Live: true}},

		{name: "no owner", rule: RuleOwnerMissing, fn: Function{Name: "fn"}, want: 1},
		{name: "blank owner", rule: RuleOwnerMissing, fn: Function{Name: "fn", Owner: " "}, want: 1},
		{name: "owner from the manifest", rule: RuleOwnerMissing, fn: Function{Manifest: mustParse(t, privateRoute)}},
		{name: "owner from the input", rule: RuleOwnerMissing, fn: Function{Name: "fn", Owner: "team-a"}},

		{name: "unknown owner", rule: RuleOwnerUnknown, fn: Function{Manifest: mustParse(t, privateRoute)},
			policy: func(p *Policy) { p.KnownOwners = []string{"team-b", "team-c"} }, want: 1, evidence: []string{`"team-a"`}, line: 2},
		{name: "known owner", rule: RuleOwnerUnknown, fn: Function{Manifest: mustParse(t, privateRoute)},
			policy: func(p *Policy) { p.KnownOwners = []string{"team-a"} }},
		{name: "any owner", rule: RuleOwnerUnknown, fn: Function{Manifest: mustParse(t, privateRoute)}},
		{name: "input owner over the manifest's", rule: RuleOwnerUnknown, fn: Function{Manifest: mustParse(t, privateRoute), Owner: "team-b"},
			policy: func(p *Policy) { p.KnownOwners = []string{"team-b"} }},

		{name: "timeout above policy", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, head+"limits:\n  timeout: 120s\n")},
			want: 1, evidence: []string{"timeout 2m0s", "1m0s"}, line: 4},
		{name: "memory above policy", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, head+"limits:\n  memory: 1GiB\n")},
			want: 1, evidence: []string{"memory 1GiB", "512MiB"}, line: 4},
		{name: "concurrency above policy", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, head+"limits:\n  concurrency: 1000\n")},
			want: 1, evidence: []string{"concurrency 1000", "256"}, line: 4},
		{name: "all three above policy", rule: RuleLimitAbovePolicy,
			fn: Function{Manifest: mustParse(t, head+"limits:\n  timeout: 61s\n  memory: 513MiB\n  concurrency: 257\n")}, want: 3, line: 6},
		{name: "limits at policy", rule: RuleLimitAbovePolicy,
			fn: Function{Manifest: mustParse(t, head+"limits:\n  timeout: 60s\n  memory: 512MiB\n  concurrency: 256\n")}},
		{name: "default limits", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, privateRoute)}},
		{name: "stricter policy", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, privateRoute)},
			policy: func(p *Policy) { p.MaxTimeout = time.Second; p.MaxMemory = 32 << 20; p.MaxConcurrency = 8 }, want: 3},
		{name: "limit rules off", rule: RuleLimitAbovePolicy, fn: Function{Manifest: mustParse(t, head+"limits:\n  timeout: 120s\n")},
			policy: func(p *Policy) { p.MaxTimeout = -1 }},

		{name: "wildcard host", rule: RuleHTTPWildcard, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [\"*.example.com\", api.example.org]\n")},
			want: 1, evidence: []string{"*.example.com", "every host under example.com"}, line: 4},
		{name: "wildcard host with a port", rule: RuleHTTPWildcard, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [\"*.example.com:8443\"]\n")}, want: 1, line: 4},
		{name: "exact hosts", rule: RuleHTTPWildcard, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [api.example.com, hooks.slack.com:443]\n")}},

		{name: "IPv4 host", rule: RuleHTTPIPLiteral, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [203.0.113.7]\n")},
			want: 1, evidence: []string{"203.0.113.7"}, line: 4},
		{name: "IPv4 host with a port", rule: RuleHTTPIPLiteral, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [\"203.0.113.7:8443\"]\n")}, want: 1, line: 4},
		{name: "IPv4 shorthand", rule: RuleHTTPIPLiteral, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [\"127.1\"]\n")}, want: 1, line: 4},
		{name: "IPv6 host", rule: RuleHTTPIPLiteral, fn: Function{Name: "fn", Owner: "o", Manifest: &manifest.Manifest{
			Capabilities: manifest.Capabilities{HTTP: []string{"[2001:db8::1]:443", "2001:db8::2"}}}}, want: 2},
		{name: "DNS names", rule: RuleHTTPIPLiteral, fn: Function{Manifest: mustParse(t, head+"capabilities:\n  http: [api.example.com, 1password.com, \"api2.example.com:8080\"]\n")}},

		{name: "secret never rotated", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "STRIPE_KEY", Created: daysAgo(200)}}, want: 1,
			evidence: []string{"STRIPE_KEY", "set on 2025-11-13 and never rotated", "200 days", "90 days"}, line: 4},
		{name: "secret rotated long ago", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "STRIPE_KEY", Created: daysAgo(400), LastRotated: daysAgo(100)}}, want: 1,
			evidence: []string{"last rotated on", "100 days"}, line: 4},
		{name: "secret rotated recently", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "STRIPE_KEY", Created: daysAgo(400), LastRotated: daysAgo(10)}}},
		{name: "secret created recently", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "STRIPE_KEY", Created: daysAgo(10)}}},
		{name: "old secret not granted", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, privateRoute)},
			secrets: []Secret{{Name: "STRIPE_KEY", Created: daysAgo(200)}}},
		{name: "granted secret not listed", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "OTHER", Created: daysAgo(200)}}},
		{name: "secret without dates", rule: RuleSecretNotRotated, fn: Function{Manifest: mustParse(t, secretGrant)},
			secrets: []Secret{{Name: "STRIPE_KEY"}}},

		{name: "unredacted route", rule: RuleUnredactedRoute,
			fn:   Function{Manifest: mustParse(t, privateRoute+"    unredacted: hands the caller a token it asked for\n")},
			want: 1, evidence: []string{"GET /x", `"hands the caller a token it asked for"`}, line: 4},
		{name: "redacted route", rule: RuleUnredactedRoute, fn: Function{Manifest: mustParse(t, privateRoute)}},

		{name: "credential in the module", rule: RuleHardcodedSecret,
			fn:   Function{Manifest: mustParse(t, privateRoute), Module: moduleWithData(active(0, []byte(githubToken(t))))},
			want: 1, evidence: []string{LeakGitHubToken, "module offset", "ghp_…"}},
		{name: "module without credentials", rule: RuleHardcodedSecret,
			fn: Function{Manifest: mustParse(t, privateRoute), Module: moduleWithData(active(0, []byte("hello")))}},

		{name: "vulnerable dependency", rule: RuleVulnerableDep,
			fn:     Function{Manifest: mustParse(t, privateRoute), Module: vulnerable},
			policy: func(p *Policy) { p.OSV = db }, want: 1,
			evidence: []string{"GO-2026-0001 (CVE-2026-0001)", "golang.org/x/text v0.3.7", "fixed in 0.3.8", "Text panics"}},
		{name: "dependency outside the range", rule: RuleVulnerableDep,
			fn:     Function{Manifest: mustParse(t, privateRoute), Module: vulnerable},
			policy: func(p *Policy) { p.OSV = mustOSV(t, strings.Replace(osvRecord1, `"0.3.8"`, `"0.3.7"`, 1)) }},
		{name: "no OSV database", rule: RuleVulnerableDep,
			fn: Function{Manifest: mustParse(t, privateRoute), Module: vulnerable}},

		{name: "malformed module", rule: RuleModuleNotScanned,
			fn: Function{Manifest: mustParse(t, privateRoute), Module: []byte("MZ\x90\x00")}, want: 1, evidence: []string{"not a well-formed"}},
		{name: "no build info, with OSV", rule: RuleModuleNotScanned,
			fn:     Function{Manifest: mustParse(t, privateRoute), Module: moduleWithData(active(0, []byte("hello")))},
			policy: func(p *Policy) { p.OSV = db }, want: 1, evidence: []string{"no readable Go build information"}},
		{name: "development Go version, with OSV", rule: RuleModuleNotScanned,
			fn:     Function{Manifest: mustParse(t, privateRoute), Module: moduleWithData(active(0x1000, blob("devel go1.27-abcdef", testModInfo)))},
			policy: func(p *Policy) { p.OSV = db }, want: 1, evidence: []string{`"devel go1.27-abcdef"`}},
		{name: "no build info, no OSV", rule: RuleModuleNotScanned,
			fn: Function{Manifest: mustParse(t, privateRoute), Module: moduleWithData(active(0, []byte("hello")))}},
		{name: "build info, with OSV", rule: RuleModuleNotScanned,
			fn: Function{Manifest: mustParse(t, privateRoute), Module: vulnerable}, policy: func(p *Policy) { p.OSV = db }},
		{name: "no module", rule: RuleModuleNotScanned, fn: Function{Manifest: mustParse(t, privateRoute)}, policy: func(p *Policy) { p.OSV = db }},

		{name: "ignored rule", rule: RulePublicRoute, fn: Function{Manifest: mustParse(t, publicRoute)},
			policy: func(p *Policy) { p.Ignore = []string{RulePublicRoute} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			r := Check(Input{Functions: []Function{tc.fn}, Secrets: tc.secrets}, p)
			var got []Finding
			for _, f := range r.Findings {
				if f.Rule == tc.rule {
					got = append(got, f)
				}
			}
			if len(got) != tc.want {
				t.Fatalf("%d %s findings, want %d; all findings: %+v", len(got), tc.rule, tc.want, r.Findings)
			}
			subjects := map[string]bool{}
			for _, f := range got {
				if f.Subject == "" || subjects[f.Subject] {
					t.Errorf("subject %q is empty or not unique among %+v", f.Subject, got)
				}
				subjects[f.Subject] = true
			}
			if tc.want == 0 {
				return
			}
			f := got[0]
			rule, _ := ruleByID(tc.rule)
			if f.Severity != rule.Severity || f.Risk != rule.Risk || f.Function != "fn" || f.Fix == "" || f.File != "fn/pave.yaml" {
				t.Errorf("finding = %+v", f)
			}
			if !strings.HasSuffix(f.Fix, ".") || strings.Count(f.Fix, ". ") > 0 {
				t.Errorf("fix %q is not one sentence", f.Fix)
			}
			for _, e := range tc.evidence {
				if !strings.Contains(f.Evidence, e) {
					t.Errorf("evidence %q lacks %q", f.Evidence, e)
				}
			}
			if f.Line != tc.line {
				t.Errorf("line = %d, want %d", f.Line, tc.line)
			}
		})
	}
}

func mustOSV(t *testing.T, text string) *OSV {
	t.Helper()
	db, err := ParseOSV([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestRulesCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || !strings.HasPrefix(r.ID, "PAVE-") {
			t.Errorf("rule id %q duplicated or without the PAVE- prefix", r.ID)
		}
		seen[r.ID] = true
		if !r.Severity.valid() || r.Title == "" || r.Description == "" || !strings.HasSuffix(r.Fix, ".") {
			t.Errorf("rule %s is incomplete: %+v", r.ID, r)
		}
		if !riskPattern.MatchString(r.Risk) {
			t.Errorf("rule %s: risk %q is not SAS-1 to SAS-12", r.ID, r.Risk)
		}
	}
	// Every rule is documented in the package comment with its severity
	// and risk.
	doc := packageDoc(t)
	for _, r := range Rules() {
		line := r.ID + " " + r.Severity.String() + " " + r.Risk
		if !strings.Contains(doc, line) {
			t.Errorf("package doc lacks %q", line)
		}
	}
}

var riskPattern = regexp.MustCompile(`^SAS-([1-9]|1[0-2])$`)

// packageDoc returns doc.go with the spaces of every line collapsed.
func packageDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func TestDefaultPolicy(t *testing.T) {
	d := DefaultPolicy()
	if d.UnusedFunctionAfter != 30*day || d.UnusedGrantAfter != 30*day || d.SecretRotateAfter != 90*day ||
		d.MaxTimeout != time.Minute || d.MaxMemory != 512<<20 || d.MaxConcurrency != 256 || d.Now == nil {
		t.Errorf("DefaultPolicy = %+v", d)
	}
	z := Policy{}.resolved()
	z.Now, d.Now = nil, nil
	if !reflect.DeepEqual(z, d) {
		t.Errorf("zero policy resolves to %+v, want the default", z)
	}
}

// TestReportOrder checks that findings are sorted by severity, function,
// rule, and that the order does not depend on the input's.
func TestReportOrder(t *testing.T) {
	fns := []Function{
		{Manifest: mustParse(t, strings.Replace(publicRoute, "fn", "b", 1))},
		{Manifest: mustParse(t, strings.Replace(publicRoute, "fn", "a", 1))},
		{Name: "c"}, // no owner: high
		{Manifest: mustParse(t, strings.Replace(head, "fn", "d", 1)+"limits:\n  timeout: 120s\n  memory: 1GiB\n")},
	}
	first := Check(Input{Functions: fns}, testPolicy())
	var got []string
	for _, f := range first.Findings {
		got = append(got, f.Severity.String()+" "+f.Function+" "+f.Rule)
	}
	want := []string{
		"high c PAVE-OWNER-MISSING",
		"medium a PAVE-PUBLIC-NO-CONTRACT",
		"medium b PAVE-PUBLIC-NO-CONTRACT",
		"medium d PAVE-LIMIT-ABOVE-POLICY",
		"medium d PAVE-LIMIT-ABOVE-POLICY",
		"low a PAVE-PUBLIC-NO-RATE-LIMIT",
		"low a PAVE-PUBLIC-ROUTE",
		"low b PAVE-PUBLIC-NO-RATE-LIMIT",
		"low b PAVE-PUBLIC-ROUTE",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if first.Functions != 4 || !first.Generated.Equal(testNow) {
		t.Errorf("report = %d functions at %v", first.Functions, first.Generated)
	}
	for range 10 {
		shuffled := append([]Function(nil), fns...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := Check(Input{Functions: shuffled}, testPolicy()); !reflect.DeepEqual(again.Findings, first.Findings) {
			t.Fatalf("order depends on the input's:\n%+v\n%+v", again.Findings, first.Findings)
		}
	}
	if got := Check(Input{}, testPolicy()); got.Findings == nil || len(got.Findings) != 0 {
		t.Errorf("empty input: findings = %#v, want an empty slice", got.Findings)
	}
}

func TestAtOrAbove(t *testing.T) {
	r := Check(Input{Functions: []Function{
		{Name: "c"},
		{Manifest: mustParse(t, publicRoute)},
	}}, testPolicy())
	for _, tc := range []struct {
		sev  Severity
		want int
	}{
		{SeverityCritical, 0},
		{SeverityHigh, 1},
		{SeverityMedium, 2},
		{SeverityLow, 4},
		{SeverityInfo, 4},
	} {
		got := r.AtOrAbove(tc.sev)
		if len(got) != tc.want {
			t.Errorf("AtOrAbove(%s) = %d findings, want %d", tc.sev, len(got), tc.want)
		}
		for _, f := range got {
			if f.Severity < tc.sev {
				t.Errorf("AtOrAbove(%s) returned a %s finding", tc.sev, f.Severity)
			}
		}
	}
	if r.Count(SeverityLow) != 2 || r.Count(SeverityCritical) != 0 {
		t.Errorf("Count = %d low, %d critical", r.Count(SeverityLow), r.Count(SeverityCritical))
	}
}

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"info", SeverityInfo, true},
		{"low", SeverityLow, true},
		{"medium", SeverityMedium, true},
		{"high", SeverityHigh, true},
		{"critical", SeverityCritical, true},
		{" HIGH\n", SeverityHigh, true},
		{"Critical", SeverityCritical, true},
		{"", 0, false},
		{"moderate", 0, false},
		{"hi", 0, false},
		{"3", 0, false},
	} {
		got, err := ParseSeverity(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, s := range Severities() {
		text, err := s.MarshalText()
		var back Severity
		if err != nil || back.UnmarshalText(text) != nil || back != s {
			t.Errorf("%v does not round-trip: %q %v", s, text, err)
		}
	}
	if _, err := Severity(0).MarshalText(); err == nil {
		t.Error("the zero Severity marshals")
	}
	if Severity(9).String() != "Severity(9)" {
		t.Errorf("Severity(9) = %s", Severity(9))
	}
}

// The daemon rules judge what a running daemon says of itself, and their
// findings name no function or file.
func TestDaemonRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		daemon Daemon
		want   []string // rule ids, in report order
	}{
		{"nothing to report", Daemon{}, nil},
		{"a tampered audit log", Daemon{AuditTampering: "record 5: forged: the MAC is wrong"}, []string{RuleAuditTampered}},
		{"the audit key in the store", Daemon{AuditKeyInStore: "/var/lib/pave/audit.key"}, []string{RuleAuditKeyInStore}},
		{"both", Daemon{AuditTampering: "record 2: missing", AuditKeyInStore: "data/audit.key"}, []string{RuleAuditTampered, RuleAuditKeyInStore}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(Input{Daemon: tc.daemon}, DefaultPolicy())
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Rule)
				if f.Function != "" || f.File != "" || f.Evidence == "" || f.Fix == "" {
					t.Errorf("finding %+v", f)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("rules %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPolicyFindings checks that every violation of the organisation's
// rules is a PAVE-POLICY finding naming the rule and the item, at its
// line, and that such findings make a schema-valid SARIF log.
func TestPolicyFindings(t *testing.T) {
	set, err := policy.Parse("p.yaml", []byte(`policies:
  - {name: routes-need-contract, each: route, expression: "route.schema", message: routes need an input contract}
  - {name: timeout-30s, expression: "manifest.limits.timeout <= duration('30s')", message: timeout at most 30s}
`))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, "name: api\nowner: team\nroutes:\n  - method: GET\n    path: /a\n  - {method: POST, path: /b, schema: {body: {type: object}}}\nlimits: {timeout: 45s}\n")
	in := Input{Functions: []Function{{Manifest: m, ManifestPath: "api/pave.yaml"}}, Policies: set}
	var got []Finding
	for _, f := range Check(in, testPolicy()).Findings {
		if f.Rule == RulePolicy {
			got = append(got, f)
		}
	}
	want := []Finding{
		{Subject: "policy routes-need-contract: route GET /a", Line: 4, Evidence: `policy "routes-need-contract": route GET /a: routes need an input contract`},
		{Subject: "policy timeout-30s: limits.timeout 45s", Line: 7, Evidence: `policy "timeout-30s": limits.timeout 45s: timeout at most 30s`},
	}
	if len(got) != len(want) {
		t.Fatalf("policy findings %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Subject != w.Subject || g.Line != w.Line || g.Evidence != w.Evidence || g.Severity != SeverityHigh || g.Function != "api" || g.File != "api/pave.yaml" {
			t.Errorf("finding %d = %+v, want %+v", i, g, w)
		}
	}
	var b bytes.Buffer
	if err := WriteSARIF(&b, &Report{Findings: got}, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	results := validateSARIF(t, b.Bytes())["runs"].([]any)[0].(map[string]any)["results"].([]any)
	if len(results) != 2 || results[0].(map[string]any)["ruleId"] != RulePolicy {
		t.Errorf("SARIF results %v", results)
	}
	// Without policies, no such finding.
	in.Policies = nil
	for _, f := range Check(in, testPolicy()).Findings {
		if f.Rule == RulePolicy {
			t.Errorf("finding %+v without policies", f)
		}
	}
}
