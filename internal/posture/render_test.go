package posture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sampleReport has findings of several severities, with and without a
// line, for one function whose manifest path needs escaping.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	return Check(Input{Functions: []Function{
		{Manifest: mustParse(t, publicRoute+"limits:\n  timeout: 120s\n"), ManifestPath: `functions\my fn/pave.yaml`},
		{Name: "orphan"},
	}}, testPolicy())
}

func TestWriteTable(t *testing.T) {
	r := sampleReport(t)
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "SEVERITY") || !strings.Contains(lines[0], "FINDING") {
		t.Errorf("header = %q", lines[0])
	}
	// Every finding has its row and its fix below it, in report order.
	for i, f := range r.Findings {
		row, fix := lines[1+2*i], lines[2+2*i]
		for _, s := range []string{f.Severity.String(), f.Rule, f.Risk, f.Function, f.Evidence} {
			if !strings.Contains(row, s) {
				t.Errorf("row %q lacks %q", row, s)
			}
		}
		if !strings.Contains(fix, "fix: "+f.Fix) {
			t.Errorf("fix row %q lacks the fix %q", fix, f.Fix)
		}
	}
	// The columns line up.
	col := strings.Index(lines[0], "RULE")
	for i := range r.Findings {
		if l := lines[1+2*i]; len(l) < col || !strings.HasPrefix(l[col:], "PAVE-") {
			t.Errorf("rule column not aligned: %q", l)
		}
	}
	if want := "5 findings in 2 functions: 1 high, 2 medium, 2 low.\n"; !strings.HasSuffix(out, want) {
		t.Errorf("summary: %q does not end with %q", out, want)
	}
	if !strings.Contains(out, `functions\my fn/pave.yaml:4`) {
		t.Errorf("route finding lacks its location:\n%s", out)
	}

	b.Reset()
	if err := WriteTable(&b, &Report{Functions: 3}); err != nil || b.String() != "No findings in 3 functions.\n" {
		t.Errorf("empty report: %q, %v", b.String(), err)
	}
	if err := WriteTable(failWriter{}, r); err == nil {
		t.Error("a write error was not returned")
	}
}

func TestWriteTableKeepsRows(t *testing.T) {
	// Manifest text cannot break the table: no tab or newline passes.
	r := &Report{Functions: 1, Findings: []Finding{{Rule: RuleUnredactedRoute, Severity: SeverityMedium, Risk: "SAS-7",
		Function: "fn", Evidence: "reason\twith a tab\nand a line", Fix: "Fix it."}}}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 5 { // header, row, fix, blank, summary
		t.Errorf("%d lines:\n%s", n, b.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteJSON(t *testing.T) {
	r := sampleReport(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Generated time.Time      `json:"generated"`
		Functions int            `json:"functions"`
		Summary   map[string]int `json:"summary"`
		Findings  []struct {
			Rule, Severity, Risk, Function, Owner, Subject, Evidence, Fix, File string
			Line                                                                int
		} `json:"findings"`
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !doc.Generated.Equal(testNow) || doc.Functions != 2 || len(doc.Findings) != len(r.Findings) {
		t.Fatalf("document = %+v", doc)
	}
	want := map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 2, "info": 0}
	if fmt.Sprint(doc.Summary) != fmt.Sprint(want) {
		t.Errorf("summary = %v, want %v", doc.Summary, want)
	}
	for i, f := range doc.Findings {
		g := r.Findings[i]
		if f.Rule != g.Rule || f.Severity != g.Severity.String() || f.Risk != g.Risk || f.Function != g.Function ||
			f.Owner != g.Owner || f.Subject != g.Subject || f.Evidence != g.Evidence || f.Fix != g.Fix || f.File != g.File || f.Line != g.Line {
			t.Errorf("finding %d = %+v, want %+v", i, f, g)
		}
	}
	// The document decodes back into a report.
	var back Report
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Findings) != len(r.Findings) || back.Findings[0] != r.Findings[0] {
		t.Errorf("round trip: %v %+v", err, back.Findings)
	}
	b.Reset()
	if err := WriteJSON(&b, &Report{}); err != nil || !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("empty report: %s %v", b.String(), err)
	}
}

func TestWriteSARIF(t *testing.T) {
	r := sampleReport(t)
	var b bytes.Buffer
	if err := WriteSARIF(&b, r, SARIFOptions{ToolVersion: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	log := validateSARIF(t, b.Bytes())

	run := log["runs"].([]any)[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "pave" || driver["version"] != "1.2.3" || driver["informationUri"] != InformationURI {
		t.Errorf("driver = %v %v %v", driver["name"], driver["version"], driver["informationUri"])
	}
	rulesOut := driver["rules"].([]any)
	if len(rulesOut) != len(Rules()) {
		t.Fatalf("%d rules, want %d", len(rulesOut), len(Rules()))
	}
	for i, ro := range rulesOut {
		rule, want := ro.(map[string]any), Rules()[i]
		props := rule["properties"].(map[string]any)
		tags := fmt.Sprint(props["tags"])
		level := rule["defaultConfiguration"].(map[string]any)["level"]
		if rule["id"] != want.ID || !strings.Contains(tags, want.Risk) || level != want.Severity.sarifLevel() ||
			props["security-severity"] != want.Severity.securitySeverity() {
			t.Errorf("rule %d = %v", i, rule)
		}
	}
	results := run["results"].([]any)
	if len(results) != len(r.Findings) {
		t.Fatalf("%d results, want %d", len(results), len(r.Findings))
	}
	for i, ro := range results {
		res, f := ro.(map[string]any), r.Findings[i]
		msg := res["message"].(map[string]any)["text"].(string)
		if res["ruleId"] != f.Rule || res["level"] != f.Severity.sarifLevel() || !strings.Contains(msg, f.Evidence) || !strings.Contains(msg, f.Fix) {
			t.Errorf("result %d = %v, for %+v", i, res, f)
		}
		phys := res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
		uri := phys["artifactLocation"].(map[string]any)["uri"]
		region, hasRegion := phys["region"].(map[string]any)
		switch f.Function {
		case "fn":
			if uri != "functions/my%20fn/pave.yaml" {
				t.Errorf("result %d: uri %v", i, uri)
			}
		case "orphan":
			if uri != "orphan/pave.yaml" {
				t.Errorf("result %d: uri %v", i, uri)
			}
		}
		if !hasRegion || region["startLine"] != float64(max(f.Line, 1)) {
			t.Errorf("result %d: region %v for line %d", i, region, f.Line)
		}
	}
	// Levels: high is an error, medium a warning, low a note.
	levels := map[string]string{}
	for i, f := range r.Findings {
		levels[f.Severity.String()] = results[i].(map[string]any)["level"].(string)
	}
	if levels["high"] != "error" || levels["medium"] != "warning" || levels["low"] != "note" {
		t.Errorf("levels = %v", levels)
	}

	t.Run("fingerprints do not change with the clock", func(t *testing.T) {
		fingerprints := func(now time.Time) []any {
			p := testPolicy()
			p.Now = func() time.Time { return now }
			r := Check(Input{Functions: []Function{{Manifest: mustParse(t, head+"capabilities:\n  kv: {notes: write}\n"),
				Live: true, Deployed: daysAgo(60)}}}, p)
			var b bytes.Buffer
			if err := WriteSARIF(&b, r, SARIFOptions{}); err != nil {
				t.Fatal(err)
			}
			var out []any
			for _, res := range validateSARIF(t, b.Bytes())["runs"].([]any)[0].(map[string]any)["results"].([]any) {
				out = append(out, res.(map[string]any)["partialFingerprints"])
			}
			return out
		}
		a, b := fingerprints(testNow), fingerprints(testNow.Add(3*day))
		if len(a) != 2 || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("fingerprints %v, then %v", a, b)
		}
		if fmt.Sprint(a[0]) == fmt.Sprint(a[1]) {
			t.Errorf("two findings share a fingerprint: %v", a)
		}
	})
	t.Run("no findings", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteSARIF(&b, &Report{}, SARIFOptions{}); err != nil {
			t.Fatal(err)
		}
		log := validateSARIF(t, b.Bytes())
		run := log["runs"].([]any)[0].(map[string]any)
		if res, ok := run["results"].([]any); !ok || len(res) != 0 {
			t.Errorf("results = %#v, want []", run["results"])
		}
		if _, ok := run["tool"].(map[string]any)["driver"].(map[string]any)["version"]; ok {
			t.Error("an empty tool version is written")
		}
	})
}

func TestArtifactURI(t *testing.T) {
	for in, want := range map[string]string{
		"hello/pave.yaml":       "hello/pave.yaml",
		`fns\hello\pave.yaml`:   "fns/hello/pave.yaml",
		"my fn/pave.yaml":       "my%20fn/pave.yaml",
		"a:b/pave.yaml":         "./a:b/pave.yaml",
		"/srv/fns/pave.yaml":    "file:///srv/fns/pave.yaml",
		`C:\fns\pave.yaml`:      "file:///C:/fns/pave.yaml",
		"fns/100%/pave.yaml":    "fns/100%25/pave.yaml",
		"fns/#hash?q/pave.yaml": "fns/%23hash%3Fq/pave.yaml",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// sarifSchema is the SARIF 2.1.0 JSON schema (OASIS, errata 01), kept in
// testdata with its licence note.
var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const id = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
})

// validateSARIF checks a SARIF log against the SARIF 2.1.0 schema, and
// for what code scanning services need beyond it: every result at one
// location in the repository (a relative URI under %SRCROOT%, with a region
// from line 1), a rule index that points at the result's rule, partial
// fingerprints, and rules carrying an SAS risk tag and a
// security-severity score. It returns the log decoded.
func validateSARIF(t *testing.T, data []byte) map[string]any {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("the SARIF schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, data)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string `json:"id"`
						Properties struct {
							Tags             []string `json:"tags"`
							SecuritySeverity string   `json:"security-severity"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			OriginalURIBaseIDs map[string]json.RawMessage `json:"originalUriBaseIds"`
			Results            []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	for ri, run := range log.Runs {
		if _, ok := run.OriginalURIBaseIDs[SourceRoot]; !ok {
			t.Errorf("run %d: no originalUriBaseIds entry for %s", ri, SourceRoot)
		}
		for _, rule := range run.Tool.Driver.Rules {
			hasRisk := false
			for _, tag := range rule.Properties.Tags {
				hasRisk = hasRisk || riskPattern.MatchString(tag)
			}
			score, err := strconv.ParseFloat(rule.Properties.SecuritySeverity, 64)
			if !hasRisk || err != nil || score < 0 || score > 10 {
				t.Errorf("rule %s: tags %v, security-severity %q", rule.ID, rule.Properties.Tags, rule.Properties.SecuritySeverity)
			}
		}
		for i, res := range run.Results {
			p := fmt.Sprintf("run %d result %d (%s)", ri, i, res.RuleID)
			if res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
				t.Errorf("%s: ruleIndex %d does not point at its rule", p, res.RuleIndex)
			}
			if len(res.PartialFingerprints) == 0 {
				t.Errorf("%s: no partial fingerprints", p)
			}
			if len(res.Locations) != 1 {
				t.Errorf("%s: %d locations, want 1", p, len(res.Locations))
				continue
			}
			loc := res.Locations[0].PhysicalLocation
			u, err := url.Parse(loc.ArtifactLocation.URI)
			if err != nil || u.IsAbs() || strings.HasPrefix(u.Path, "/") || !filepath.IsLocal(u.Path) || loc.ArtifactLocation.URIBaseID != SourceRoot {
				t.Errorf("%s: artifact %+v is not a path in the repository under %s", p, loc.ArtifactLocation, SourceRoot)
			}
			if loc.Region == nil || loc.Region.StartLine < 1 {
				t.Errorf("%s: no region", p)
			}
		}
	}
	var plain map[string]any
	if err := json.Unmarshal(data, &plain); err != nil {
		t.Fatal(err)
	}
	return plain
}

// The schema the tests validate against refuses what SARIF 2.1.0 does.
func TestSARIFSchemaRefuses(t *testing.T) {
	sch, err := sarifSchema()
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"a driver without a name": `{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		"another version":         `{"version":"2.0.0","runs":[]}`,
		"a region from line 0": `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"pave"}},"results":[{"message":{"text":"x"},` +
			`"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a/pave.yaml"},"region":{"startLine":0}}}]}]}]}`,
		"an unknown property": `{"version":"2.1.0","runs":[],"extra":1}`,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(doc) == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
