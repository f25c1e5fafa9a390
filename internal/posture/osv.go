package posture

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"
)

// This file reads vulnerability records in the OSV format
// (https://ossf.github.io/osv-schema/) and matches the Go ones against a
// module's build information.

// MaxOSVFileSize bounds what LoadOSV reads: the size of a file, and the
// records of a zip archive or a directory, uncompressed, in all.
const MaxOSVFileSize = 256 << 20

// An OSV is a database of vulnerabilities in the Go ecosystem, read from
// OSV records. The zero value and nil hold no records. An OSV is not
// modified after it is made and is safe for concurrent use.
type OSV struct {
	// byPackage maps a package (a module path, "stdlib" or "toolchain")
	// to the records affecting it.
	byPackage map[string][]osvAffected
	records   int
}

// osvAffected is one affected entry of one record.
type osvAffected struct {
	id       string
	aliases  []string
	summary  string
	severity Severity // 0 if the record rates none
	ranges   []osvRange
	versions []string
}

// osvRange is a range of type SEMVER or ECOSYSTEM, which for Go are
// both semantic versions.
type osvRange struct {
	events []osvEvent
}

type osvEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// osvRecord is the part of an OSV record the matcher reads.
type osvRecord struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases"`
	Summary   string   `json:"summary"`
	Withdrawn string   `json:"withdrawn"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	// DatabaseSpecific is free-form; GitHub's advisories put a severity
	// name in it.
	DatabaseSpecific json.RawMessage `json:"database_specific"`
	Affected         []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string     `json:"type"`
			Events []osvEvent `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
}

// LoadOSV reads an OSV database from path: a file of records (see
// ParseOSV), a zip archive of record files (the form in which the Go
// vulnerability database and osv.dev publish theirs: every file ending in
// .json is a record, except the Go database's index/ files), or a
// directory holding such files at any depth (again without index/). It
// refuses more than MaxOSVFileSize of records in all, uncompressed.
func LoadOSV(path string) (*OSV, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	db := newOSV()
	if info.IsDir() {
		err = db.loadDir(path)
	} else {
		err = db.loadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

func (db *OSV) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxOSVFileSize+1))
	if err != nil {
		return err
	}
	if len(data) > MaxOSVFileSize {
		return errTooLarge
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return db.parseZip(data)
	}
	return db.parse(data)
}

var errTooLarge = fmt.Errorf("more than %d MiB of OSV records", MaxOSVFileSize>>20)

// isIndex reports whether name, slash-separated, is in the Go
// vulnerability database's index/ directory, which holds no records.
func isIndex(name string) bool { return strings.HasPrefix(name, "index/") }

func (db *OSV) parseZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("OSV zip: %w", err)
	}
	var total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() || !strings.HasSuffix(zf.Name, ".json") || isIndex(zf.Name) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("OSV zip: %s: %w", zf.Name, err)
		}
		rec, err := io.ReadAll(io.LimitReader(rc, MaxOSVFileSize-total+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("OSV zip: %s: %w", zf.Name, err)
		}
		if total += int64(len(rec)); total > MaxOSVFileSize {
			return errTooLarge
		}
		if err := db.parse(rec); err != nil {
			return fmt.Errorf("%s: %w", zf.Name, err)
		}
	}
	return nil
}

func (db *OSV) loadDir(dir string) error {
	var total int64
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if filepath.ToSlash(rel) == "index" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if total += int64(len(data)); total > MaxOSVFileSize {
			return errTooLarge
		}
		if err := db.parse(data); err != nil {
			return fmt.Errorf("%s: %w", filepath.ToSlash(rel), err)
		}
		return nil
	})
}

// ParseOSV reads OSV records: a JSON array of records, a single record,
// or records one after another (JSON lines). Records of other ecosystems
// than "Go" are kept out, and so are withdrawn records; ranges of type
// GIT are ignored. A record without an id, or any JSON that is not a
// record, is an error.
func ParseOSV(data []byte) (*OSV, error) {
	db := newOSV()
	if err := db.parse(data); err != nil {
		return nil, err
	}
	return db, nil
}

func newOSV() *OSV { return &OSV{byPackage: map[string][]osvAffected{}} }

// parse adds the records in data, in any form ParseOSV reads, to db.
func (db *OSV) parse(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var recs []json.RawMessage
		if err := json.Unmarshal(trimmed, &recs); err != nil {
			return fmt.Errorf("OSV: %w", err)
		}
		for i, raw := range recs {
			if err := db.add(raw); err != nil {
				return fmt.Errorf("OSV: record %d: %w", i+1, err)
			}
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for i := 1; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("OSV: record %d: %w", i, err)
		}
		if err := db.add(raw); err != nil {
			return fmt.Errorf("OSV: record %d: %w", i, err)
		}
	}
	return nil
}

// An OSVSource is an OSV database read from a path (as LoadOSV reads it)
// and read again when what is at the path changes, so that a daemon picks
// up a new database without a restart. It is safe for concurrent use.
type OSVSource struct {
	path  string
	mu    sync.Mutex
	stamp string
	db    *OSV
}

// OpenOSV loads the database at path; see LoadOSV.
func OpenOSV(path string) (*OSVSource, error) {
	stamp, err := osvStamp(path)
	if err != nil {
		return nil, err
	}
	db, err := LoadOSV(path)
	if err != nil {
		return nil, err
	}
	return &OSVSource{path: path, stamp: stamp, db: db}, nil
}

// Current returns the database, read again first if the files at the
// path changed (their names, sizes or modification times); changed says
// whether it was. If the new files cannot be read, Current keeps and
// returns the database it had, with the error.
func (s *OSVSource) Current() (db *OSV, changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp, err := osvStamp(s.path)
	if err != nil {
		return s.db, false, err
	}
	if stamp == s.stamp {
		return s.db, false, nil
	}
	fresh, err := LoadOSV(s.path)
	if err != nil {
		return s.db, false, err
	}
	s.stamp, s.db = stamp, fresh
	return fresh, true, nil
}

// osvStamp describes what is at path: the name, size and modification
// time of the file, or of every file under the directory.
func osvStamp(path string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return b.String(), err
}

func (db *OSV) add(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not a JSON object")
	}
	var rec osvRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return err
	}
	if rec.ID == "" {
		return errors.New("no id")
	}
	db.records++
	if rec.Withdrawn != "" {
		return nil
	}
	for _, a := range rec.Affected {
		if a.Package.Ecosystem != "Go" || a.Package.Name == "" {
			continue
		}
		aff := osvAffected{id: rec.ID, aliases: rec.Aliases, summary: rec.Summary, severity: rec.rating(), versions: a.Versions}
		for _, r := range a.Ranges {
			if r.Type == "SEMVER" || r.Type == "ECOSYSTEM" {
				aff.ranges = append(aff.ranges, osvRange{events: r.Events})
			}
		}
		db.byPackage[a.Package.Name] = append(db.byPackage[a.Package.Name], aff)
	}
	return nil
}

// Records returns how many records db was read from, withdrawn ones and
// those of other ecosystems included.
func (db *OSV) Records() int {
	if db == nil {
		return 0
	}
	return db.records
}

// rating is the severity the record gives: the highest of its CVSS
// vectors' base scores rated as CVSS does (critical from 9.0, high from
// 7.0, medium from 4.0, low above 0), or else the name in
// database_specific.severity (CRITICAL, HIGH, MODERATE or MEDIUM, LOW), or
// 0 if it gives none that can be read.
func (rec *osvRecord) rating() Severity {
	var best Severity
	for _, s := range rec.Severity {
		if sev, ok := cvssSeverity(s.Type, s.Score); ok {
			best = max(best, sev)
		}
	}
	if best != 0 || len(rec.DatabaseSpecific) == 0 {
		return best
	}
	var ds struct {
		Severity any `json:"severity"`
	}
	if json.Unmarshal(rec.DatabaseSpecific, &ds) != nil {
		return 0
	}
	name, _ := ds.Severity.(string)
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "CRITICAL":
		return SeverityCritical
	case "HIGH":
		return SeverityHigh
	case "MODERATE", "MEDIUM":
		return SeverityMedium
	case "LOW":
		return SeverityLow
	}
	return 0
}

// cvssSeverity rates a CVSS vector of an OSV severity entry (type CVSS_V3
// or CVSS_V4) by its base score.
func cvssSeverity(typ, vector string) (Severity, bool) {
	var score float64
	switch {
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := cvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		score = v.BaseScore()
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := cvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		score = v.BaseScore()
	case typ == "CVSS_V4":
		v, err := cvss40.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		score = v.Score()
	default:
		return 0, false
	}
	switch {
	case score >= 9:
		return SeverityCritical, true
	case score >= 7:
		return SeverityHigh, true
	case score >= 4:
		return SeverityMedium, true
	case score > 0:
		return SeverityLow, true
	}
	return SeverityInfo, true
}

// A Vulnerability is an OSV record that affects a package at the version
// a module uses. Records that name each other as aliases (a Go advisory
// and its GitHub one, say) are one Vulnerability.
type Vulnerability struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Severity is the highest the records rate it, 0 if none does.
	Severity Severity `json:"severity,omitempty"`
	// Package is the affected package: a module path, or "stdlib".
	Package string `json:"package"`
	// Version is the version found, as the module records it.
	Version string `json:"version"`
	// Fixed is the lowest fixed version above Version in the record, or
	// "" if the record names none.
	Fixed string `json:"fixed,omitempty"`
}

// Lookup returns the vulnerabilities of the Go package pkg (a module
// path, "stdlib" or "toolchain") at version (with or without a leading
// "v"), sorted by id. Records that share an id or alias are merged into
// one Vulnerability (see mergeAliases).
func (db *OSV) Lookup(pkg, version string) []Vulnerability {
	if db == nil {
		return nil
	}
	v, ok := parseSemver(version)
	if !ok {
		return nil
	}
	var out []Vulnerability
	seen := map[string]bool{}
	for _, a := range db.byPackage[pkg] {
		affected, fixed := a.affects(v, version)
		if !affected || seen[a.id] {
			continue
		}
		seen[a.id] = true
		out = append(out, Vulnerability{ID: a.id, Aliases: a.aliases, Summary: a.summary, Severity: a.severity, Package: pkg, Version: version, Fixed: fixed})
	}
	out = mergeAliases(out)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// mergeAliases merges the vulnerabilities of one package that are the same
// advisory under several ids: any two whose ids and aliases share a name,
// directly or through others. The merged one keeps the id of its Go
// advisory (GO-...) or else the lowest id, the other ids and aliases as
// aliases, the highest severity, the lowest fixed version, and the first
// summary.
func mergeAliases(vs []Vulnerability) []Vulnerability {
	if len(vs) < 2 {
		return vs
	}
	// Union-find over the vulnerabilities, joined by shared names.
	parent := make([]int, len(vs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, v := range vs {
		for _, name := range append([]string{v.ID}, v.Aliases...) {
			if j, ok := owner[name]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[name] = i
			}
		}
	}
	groups := map[int][]Vulnerability{}
	var roots []int
	for i, v := range vs {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], v)
	}
	out := make([]Vulnerability, 0, len(roots))
	for _, r := range roots {
		out = append(out, mergeGroup(groups[r]))
	}
	return out
}

func mergeGroup(g []Vulnerability) Vulnerability {
	sort.Slice(g, func(i, j int) bool {
		gi, gj := strings.HasPrefix(g[i].ID, "GO-"), strings.HasPrefix(g[j].ID, "GO-")
		if gi != gj {
			return gi
		}
		return g[i].ID < g[j].ID
	})
	m := g[0]
	names := map[string]bool{m.ID: true}
	var aliases []string
	for _, v := range g {
		for _, name := range append([]string{v.ID}, v.Aliases...) {
			if !names[name] {
				names[name] = true
				aliases = append(aliases, name)
			}
		}
		m.Severity = max(m.Severity, v.Severity)
		if m.Summary == "" {
			m.Summary = v.Summary
		}
		if v.Fixed != "" && (m.Fixed == "" || lessVersion(v.Fixed, m.Fixed)) {
			m.Fixed = v.Fixed
		}
	}
	sort.Strings(aliases)
	m.Aliases = aliases
	return m
}

// lessVersion reports whether semantic version a is below b; versions
// that do not parse compare as text.
func lessVersion(a, b string) bool {
	x, okA := parseSemver(a)
	y, okB := parseSemver(b)
	if !okA || !okB {
		return a < b
	}
	return compareSemver(x, y) < 0
}

// Match returns the vulnerabilities affecting a module with build
// information bi: its Go version against "stdlib" and "toolchain", and
// each dependency (its replacement, if it has one) at its version. The
// main module is not checked. The result is sorted by package, then id.
func (db *OSV) Match(bi *debug.BuildInfo) []Vulnerability {
	if db == nil || bi == nil {
		return nil
	}
	var out []Vulnerability
	if sv, ok := GoVersionSemver(bi.GoVersion); ok {
		for _, pkg := range []string{"stdlib", "toolchain"} {
			for _, v := range db.Lookup(pkg, sv) {
				v.Version = bi.GoVersion
				out = append(out, v)
			}
		}
	}
	for _, d := range bi.Deps {
		if d == nil {
			continue
		}
		if d.Replace != nil {
			d = d.Replace
		}
		out = append(out, db.Lookup(d.Path, d.Version)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// affects reports whether version v (written raw) is affected, by an
// exact entry in versions or by a range, and the fixed version that ends
// the range it is in.
func (a *osvAffected) affects(v semver, raw string) (bool, string) {
	for _, r := range a.ranges {
		if ok, fixed := r.affects(v); ok {
			return true, fixed
		}
	}
	for _, e := range a.versions {
		if e == raw || strings.TrimPrefix(e, "v") == strings.TrimPrefix(raw, "v") {
			return true, ""
		}
		if x, ok := parseSemver(e); ok && compareSemver(x, v) == 0 {
			return true, ""
		}
	}
	return false, ""
}

// affects evaluates a range as the OSV schema says: events in version
// order, "0" first; a version is affected after an introduced event and
// up to a fixed (exclusive) or last_affected (inclusive) one, and never
// at or above a limit. A range with an event that is not a valid version
// matches nothing.
func (r *osvRange) affects(v semver) (bool, string) {
	type event struct {
		kind string
		zero bool // introduced "0": below every version
		ver  semver
		raw  string
	}
	var evs []event
	for _, e := range r.events {
		kind, raw := "", ""
		n := 0
		for _, kv := range [][2]string{{"introduced", e.Introduced}, {"fixed", e.Fixed}, {"last_affected", e.LastAffected}, {"limit", e.Limit}} {
			if kv[1] != "" {
				kind, raw = kv[0], kv[1]
				n++
			}
		}
		if n != 1 {
			return false, "" // an event holds exactly one of them
		}
		if kind == "limit" && raw == "*" {
			continue // no limit
		}
		ev := event{kind: kind, raw: raw}
		if kind == "introduced" && raw == "0" {
			ev.zero = true
		} else {
			var ok bool
			if ev.ver, ok = parseSemver(raw); !ok {
				return false, ""
			}
		}
		evs = append(evs, ev)
	}
	less := func(a, b event) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		return compareSemver(a.ver, b.ver)
	}
	sort.SliceStable(evs, func(i, j int) bool { return less(evs[i], evs[j]) < 0 })

	affected := false
	for _, e := range evs {
		c := 1 // v compared with the event's version
		if !e.zero {
			c = compareSemver(v, e.ver)
		}
		switch e.kind {
		case "introduced":
			if c >= 0 {
				affected = true
			}
		case "fixed":
			if c >= 0 {
				affected = false
			}
		case "last_affected":
			if c > 0 {
				affected = false
			}
		case "limit":
			if c >= 0 {
				return false, ""
			}
		}
	}
	if !affected {
		return false, ""
	}
	// The fixed version for the report: the lowest fixed event above v.
	for _, e := range evs {
		if e.kind == "fixed" && !e.zero && compareSemver(e.ver, v) > 0 {
			return true, e.raw
		}
	}
	return true, ""
}
