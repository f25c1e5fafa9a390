package posture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// This file reads vulnerability records in the OSV format
// (https://ossf.github.io/osv-schema/) and matches the Go ones against a
// module's build information.

// MaxOSVFileSize is the largest OSV file LoadOSV reads.
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
	Affected  []struct {
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

// LoadOSV reads the OSV file at path; see ParseOSV. It refuses files
// larger than MaxOSVFileSize.
func LoadOSV(path string) (*OSV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxOSVFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxOSVFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxOSVFileSize>>20)
	}
	db, err := ParseOSV(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// ParseOSV reads OSV records: a JSON array of records, a single record,
// or records one after another (JSON lines). Records of other ecosystems
// than "Go" are kept out, and so are withdrawn records; ranges of type
// GIT are ignored. A record without an id, or any JSON that is not a
// record, is an error.
func ParseOSV(data []byte) (*OSV, error) {
	db := &OSV{byPackage: map[string][]osvAffected{}}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var recs []json.RawMessage
		if err := json.Unmarshal(trimmed, &recs); err != nil {
			return nil, fmt.Errorf("OSV: %w", err)
		}
		for i, raw := range recs {
			if err := db.add(raw); err != nil {
				return nil, fmt.Errorf("OSV: record %d: %w", i+1, err)
			}
		}
		return db, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for i := 1; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("OSV: record %d: %w", i, err)
		}
		if err := db.add(raw); err != nil {
			return nil, fmt.Errorf("OSV: record %d: %w", i, err)
		}
	}
	return db, nil
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
		aff := osvAffected{id: rec.ID, aliases: rec.Aliases, summary: rec.Summary, versions: a.Versions}
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

// A Vulnerability is an OSV record that affects a package at the version
// a module uses.
type Vulnerability struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
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
// "v"), sorted by id.
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
		out = append(out, Vulnerability{ID: a.id, Aliases: a.aliases, Summary: a.summary, Package: pkg, Version: version, Fixed: fixed})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
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
