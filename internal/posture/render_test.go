package posture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if err := WriteSARIF(&b, r, "1.2.3"); err != nil {
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
		if hasRegion != (f.Line > 0) || hasRegion && region["startLine"] != float64(f.Line) {
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
			if err := WriteSARIF(&b, r, ""); err != nil {
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
		if err := WriteSARIF(&b, &Report{}, ""); err != nil {
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

// validateSARIF checks a log against the parts of the SARIF 2.1.0 schema
// (https://docs.oasis-open.org/sarif/sarif/v2.1.0/) that WriteSARIF uses:
// required properties, their types and allowed values, and that every
// property written is one the schema defines for its object, so that a
// misspelt name fails here rather than in a code scanning service.
func validateSARIF(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var log map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	errorf := func(path, format string, args ...any) {
		t.Helper()
		t.Errorf("SARIF %s: %s", path, fmt.Sprintf(format, args...))
	}
	known := func(path string, obj map[string]any, allowed ...string) {
		t.Helper()
		for k := range obj {
			found := false
			for _, a := range allowed {
				found = found || k == a
			}
			if !found {
				errorf(path, "property %q is not defined for this object", k)
			}
		}
	}
	object := func(path string, v any) map[string]any {
		t.Helper()
		o, ok := v.(map[string]any)
		if !ok {
			errorf(path, "want an object, found %T", v)
			return map[string]any{}
		}
		return o
	}
	array := func(path string, v any) []any {
		t.Helper()
		a, ok := v.([]any)
		if !ok {
			errorf(path, "want an array, found %T", v)
		}
		return a
	}
	str := func(path string, v any, required bool) string {
		t.Helper()
		s, ok := v.(string)
		if v == nil && !required {
			return ""
		}
		if !ok || required && s == "" {
			errorf(path, "want a non-empty string, found %#v", v)
		}
		return s
	}
	integer := func(path string, v any, min int64) int64 {
		t.Helper()
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < min {
			errorf(path, "want an integer of at least %d, found %#v", min, v)
		}
		return i
	}
	message := func(path string, v any) {
		t.Helper()
		m := object(path, v)
		known(path, m, "text", "markdown", "id", "arguments")
		str(path+".text", m["text"], true)
	}
	uri := func(path string, v any, absolute bool) {
		t.Helper()
		s := str(path, v, true)
		u, err := url.Parse(s)
		if err != nil || strings.ContainsAny(s, " \\") || absolute && !u.IsAbs() {
			errorf(path, "%q is not a valid URI reference (absolute: %v)", s, absolute)
		}
	}
	levels := []string{"none", "note", "warning", "error"}
	level := func(path string, v any) {
		t.Helper()
		s := str(path, v, true)
		if !strings.Contains(" "+strings.Join(levels, " ")+" ", " "+s+" ") {
			errorf(path, "level %q is not one of %v", s, levels)
		}
	}

	known("log", log, "$schema", "version", "runs", "inlineExternalProperties", "properties")
	if log["version"] != "2.1.0" {
		errorf("version", "want 2.1.0, found %#v", log["version"])
	}
	if log["$schema"] != "https://json.schemastore.org/sarif-2.1.0.json" {
		errorf("$schema", "found %#v", log["$schema"])
	}
	runs := array("runs", log["runs"])
	if len(runs) == 0 {
		errorf("runs", "no run")
	}
	for ri, rv := range runs {
		rp := fmt.Sprintf("runs[%d]", ri)
		run := object(rp, rv)
		known(rp, run, "tool", "results", "invocations", "artifacts", "properties", "originalUriBaseIds")
		tool := object(rp+".tool", run["tool"])
		known(rp+".tool", tool, "driver", "extensions", "properties")
		driver := object(rp+".tool.driver", tool["driver"])
		known(rp+".tool.driver", driver, "name", "version", "semanticVersion", "informationUri", "rules", "fullName", "properties")
		str(rp+".tool.driver.name", driver["name"], true)
		str(rp+".tool.driver.version", driver["version"], false)
		if driver["informationUri"] != nil {
			uri(rp+".tool.driver.informationUri", driver["informationUri"], true)
		}
		var ruleIDs []string
		for i, v := range array(rp+".tool.driver.rules", driver["rules"]) {
			p := fmt.Sprintf("%s.tool.driver.rules[%d]", rp, i)
			rule := object(p, v)
			known(p, rule, "id", "name", "shortDescription", "fullDescription", "help", "helpUri", "defaultConfiguration", "properties")
			id := str(p+".id", rule["id"], true)
			for _, seen := range ruleIDs {
				if seen == id {
					errorf(p+".id", "%q is not unique", id)
				}
			}
			ruleIDs = append(ruleIDs, id)
			str(p+".name", rule["name"], false)
			for _, k := range []string{"shortDescription", "fullDescription", "help"} {
				message(p+"."+k, rule[k])
			}
			uri(p+".helpUri", rule["helpUri"], true)
			cfg := object(p+".defaultConfiguration", rule["defaultConfiguration"])
			known(p+".defaultConfiguration", cfg, "level", "enabled", "rank", "parameters")
			level(p+".defaultConfiguration.level", cfg["level"])
			props := object(p+".properties", rule["properties"])
			tags := array(p+".properties.tags", props["tags"])
			hasRisk := false
			for j, tag := range tags {
				s := str(fmt.Sprintf("%s.properties.tags[%d]", p, j), tag, true)
				hasRisk = hasRisk || riskPattern.MatchString(s)
			}
			if !hasRisk {
				errorf(p+".properties.tags", "no SAS risk among %v", tags)
			}
			score, err := strconv.ParseFloat(str(p+".properties.security-severity", props["security-severity"], true), 64)
			if err != nil || score < 0 || score > 10 {
				errorf(p+".properties.security-severity", "want a score from 0.0 to 10.0, found %v", props["security-severity"])
			}
		}
		results := array(rp+".results", run["results"])
		for i, v := range results {
			p := fmt.Sprintf("%s.results[%d]", rp, i)
			res := object(p, v)
			known(p, res, "ruleId", "ruleIndex", "rule", "level", "kind", "message", "locations", "partialFingerprints", "fingerprints", "properties")
			id := str(p+".ruleId", res["ruleId"], true)
			idx := integer(p+".ruleIndex", res["ruleIndex"], 0)
			if idx >= int64(len(ruleIDs)) || ruleIDs[idx] != id {
				errorf(p, "ruleIndex %d does not point at rule %q", idx, id)
			}
			level(p+".level", res["level"])
			message(p+".message", res["message"])
			for j, lv := range array(p+".locations", res["locations"]) {
				lp := fmt.Sprintf("%s.locations[%d]", p, j)
				loc := object(lp, lv)
				known(lp, loc, "physicalLocation", "logicalLocations", "message", "id")
				phys := object(lp+".physicalLocation", loc["physicalLocation"])
				known(lp+".physicalLocation", phys, "artifactLocation", "region", "contextRegion")
				art := object(lp+".physicalLocation.artifactLocation", phys["artifactLocation"])
				known(lp+".physicalLocation.artifactLocation", art, "uri", "uriBaseId", "index")
				uri(lp+".physicalLocation.artifactLocation.uri", art["uri"], false)
				if rv, ok := phys["region"]; ok {
					region := object(lp+".physicalLocation.region", rv)
					known(lp+".physicalLocation.region", region, "startLine", "startColumn", "endLine", "endColumn")
					integer(lp+".physicalLocation.region.startLine", region["startLine"], 1)
				}
			}
			for k, fv := range object(p+".partialFingerprints", res["partialFingerprints"]) {
				str(p+".partialFingerprints."+k, fv, true)
			}
		}
	}
	// Hand the caller a plain decoding, numbers as float64.
	var plain map[string]any
	if err := json.Unmarshal(data, &plain); err != nil {
		t.Fatal(err)
	}
	return plain
}
