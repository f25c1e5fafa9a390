package posture

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes r for a terminal: one row per finding (severity, rule,
// risk, function, evidence) with its fix on the row below, then a count by
// severity.
func WriteTable(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	if len(r.Findings) == 0 {
		fmt.Fprintf(ew, "No findings in %d %s.\n", r.Functions, plural(r.Functions, "function", "functions"))
		return ew.err
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tRISK\tFUNCTION\tFINDING")
	for _, f := range r.Findings {
		where := ""
		if f.Line > 0 {
			where = fmt.Sprintf(" (%s:%d)", f.File, f.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\n", f.Severity, f.Rule, f.Risk, oneLine(f.Function), oneLine(f.Evidence), oneLine(where))
		fmt.Fprintf(tw, "\t\t\t\tfix: %s\n", oneLine(f.Fix))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(ew, "\n%d %s in %d %s: %s.\n", len(r.Findings), plural(len(r.Findings), "finding", "findings"),
		r.Functions, plural(r.Functions, "function", "functions"), summary(r))
	return ew.err
}

// summary counts the findings by severity, highest first: "1 high, 2 low".
func summary(r *Report) string {
	var parts []string
	sevs := Severities()
	for i := len(sevs) - 1; i >= 0; i-- {
		if n := r.Count(sevs[i]); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sevs[i]))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// oneLine keeps a table cell on its row: control characters, including
// tabs and line breaks from manifest text, become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	Generated time.Time      `json:"generated"`
	Functions int            `json:"functions"`
	Summary   map[string]int `json:"summary"` // severity name to count, every severity
	Findings  []Finding      `json:"findings"`
}

// WriteJSON writes r as one indented JSON object: generated, functions,
// summary (the count of findings of each severity) and findings, each with
// rule, severity, risk, function, owner, evidence, fix, file and line.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{Generated: r.Generated, Functions: r.Functions, Summary: map[string]int{}, Findings: r.Findings}
	for _, s := range Severities() {
		doc.Summary[s.String()] = r.Count(s)
	}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/).
const (
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	SARIFVersion = "2.1.0"
	// InformationURI is the tool's informationUri in SARIF output.
	InformationURI = "https://github.com/pave-dev/pave"
	// HelpURI documents the risks the rules map to.
	HelpURI = "https://github.com/pave-dev/pave/blob/main/docs/SECURITY.md#the-twelve-serverless-risks"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds"`
	Results            []sarifResult            `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	HelpURI              string            `json:"helpUri"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProperty `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProperty struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
	Severity         string   `json:"pave-severity"`
	Risk             string   `json:"risk"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI         string     `json:"uri,omitempty"`
	URIBaseID   string     `json:"uriBaseId,omitempty"`
	Description *sarifText `json:"description,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// SourceRoot is the uriBaseId of every artifact location in pave's SARIF:
// the root of the repository the manifests are in.
const SourceRoot = "%SRCROOT%"

// SARIFOptions say what WriteSARIF cannot learn from a report.
type SARIFOptions struct {
	// ToolVersion is pave's version, for the driver; omitted if "".
	ToolVersion string
	// Root, if set, is the absolute path of the repository root that
	// findings' File paths are relative to: it becomes the file URI of
	// SourceRoot. A daemon does not know it; code scanning resolves
	// SourceRoot to its own checkout.
	Root string
}

// WriteSARIF writes r as a SARIF 2.1.0 log with one run of the tool
// "pave", for code scanning services. Every rule is listed, so a rule's
// index is stable; each finding about a function is a result at its
// manifest file, a path relative to SourceRoot, in a region: its line when
// known, else line 1 (module findings). Findings about the daemon itself
// name no file and are left out: they are in the table and JSON forms.
// Levels: critical and high are "error", medium "warning", low and info
// "note"; the rule's security-severity property carries the finer
// ranking. A result's partial fingerprint hashes the rule, function and
// subject, which stay the same from one report to the next.
func WriteSARIF(w io.Writer, r *Report, opts SARIFOptions) error {
	driver := sarifDriver{Name: "pave", Version: opts.ToolVersion, InformationURI: InformationURI}
	for _, rule := range rules {
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.ID,
			Name:                 ruleName(rule.ID),
			ShortDescription:     sarifText{rule.Title},
			FullDescription:      sarifText{rule.Description},
			Help:                 sarifText{rule.Fix},
			HelpURI:              HelpURI,
			DefaultConfiguration: sarifRuleConfig{Level: rule.Severity.sarifLevel()},
			Properties: sarifRuleProperty{
				Tags:             []string{"security", rule.Risk},
				SecuritySeverity: rule.Severity.securitySeverity(),
				Severity:         rule.Severity.String(),
				Risk:             rule.Risk,
			},
		})
	}
	root := sarifArtifact{Description: &sarifText{"The root of the repository that holds the functions' manifests."}}
	if opts.Root != "" {
		root.URI = artifactURI(filepath.ToSlash(opts.Root))
		if !strings.HasSuffix(root.URI, "/") {
			root.URI += "/" // a base URI names a directory
		}
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, OriginalURIBaseIDs: map[string]sarifArtifact{SourceRoot: root}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		if f.File == "" {
			continue
		}
		_, index := ruleByID(f.Rule)
		loc := sarifLocation{PhysicalLocation: sarifPhysical{
			ArtifactLocation: sarifArtifact{URI: artifactURI(f.File), URIBaseID: SourceRoot},
			Region:           &sarifRegion{StartLine: max(f.Line, 1)},
		}}
		sum := sha256.Sum256([]byte(f.Rule + "\x00" + f.Function + "\x00" + f.Subject))
		run.Results = append(run.Results, sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           index,
			Level:               f.Severity.sarifLevel(),
			Message:             sarifText{fmt.Sprintf("%s: %s. Fix: %s", f.Function, strings.TrimSuffix(f.Evidence, "."), f.Fix)},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"paveFinding/v1": hex.EncodeToString(sum[:16])},
			Properties:          map[string]string{"function": f.Function, "owner": f.Owner, "severity": f.Severity.String(), "risk": f.Risk},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

// ruleName turns "PAVE-PUBLIC-ROUTE" into "PublicRoute", SARIF's
// reportingDescriptor name.
func ruleName(id string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.TrimPrefix(id, "PAVE-"), "-") {
		if w == "" {
			continue
		}
		b.WriteString(w[:1])
		b.WriteString(strings.ToLower(w[1:]))
	}
	return b.String()
}

// artifactURI writes a file path as a URI reference: slashes, and every
// character a URI cannot hold percent-encoded.
func artifactURI(path string) string {
	p := strings.ReplaceAll(path, `\`, "/")
	if strings.HasPrefix(p, "/") || len(p) >= 3 && p[1] == ':' && p[2] == '/' {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // a Windows drive
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}
