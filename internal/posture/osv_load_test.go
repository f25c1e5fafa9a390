package posture

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// textRecord is an OSV record of golang.org/x/text below 0.3.8 with the
// given id, aliases and severity fields (JSON members, or "").
func textRecord(id string, aliases []string, severity string) string {
	al := `"` + strings.Join(aliases, `","`) + `"`
	if len(aliases) == 0 {
		al = ""
	}
	if severity != "" {
		severity += ","
	}
	return `{"id":"` + id + `","aliases":[` + al + `],` + severity + `"summary":"Text panics",
 "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/text"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}]}]}`
}

// The severity of a finding comes from the record: its CVSS vectors, or
// the severity name GitHub's advisories carry; a record without either
// keeps the rule's.
func TestOSVSeverity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		severity string // JSON members of the record
		want     Severity
	}{
		{"CVSS 3.1 9.8", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]`, SeverityCritical},
		{"CVSS 3.1 7.5", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]`, SeverityHigh},
		{"CVSS 3.1 5.3", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]`, SeverityMedium},
		{"CVSS 3.1 3.1", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"}]`, SeverityLow},
		{"CVSS 3.0", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]`, SeverityHigh},
		{"CVSS 4.0", `"severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]`, SeverityCritical},
		{"the highest of two", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"},{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]`, SeverityCritical},
		{"GitHub's moderate", `"database_specific":{"severity":"MODERATE","cwe_ids":["CWE-400"]}`, SeverityMedium},
		{"GitHub's low", `"database_specific":{"severity":"LOW"}`, SeverityLow},
		{"a vector before the name", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"database_specific":{"severity":"LOW"}`, SeverityCritical},
		{"a bad vector and a name", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:X"}],"database_specific":{"severity":"HIGH"}`, SeverityHigh},
		{"no rating", ``, SeverityHigh},
		{"a name of another shape", `"database_specific":{"severity":3}`, SeverityHigh},
		{"an unknown type", `"severity":[{"type":"Ubuntu","score":"high"}]`, SeverityHigh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := ParseOSV([]byte(textRecord("GO-2026-0001", nil, tc.severity)))
			if err != nil {
				t.Fatal(err)
			}
			r := Check(Input{Functions: []Function{{Name: "fn", Module: moduleWithData(active(0x1000, blob("go1.30.1", testModInfo)))}}}, Policy{OSV: db})
			var got []Severity
			for _, f := range r.Findings {
				if f.Rule == RuleVulnerableDep {
					got = append(got, f.Severity)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("severities %v, want [%s]", got, tc.want)
			}
		})
	}
}

// An advisory and its aliases (a Go advisory and its GitHub twin) are one
// vulnerability, whichever order they come in.
func TestOSVAliasesMerged(t *testing.T) {
	goRec := textRecord("GO-2021-0113", []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}, "")
	ghsa := textRecord("GHSA-ppp9-7jff-5vj2", []string{"CVE-2021-38561"}, `"database_specific":{"severity":"CRITICAL"}`)
	other := textRecord("GO-2026-0009", nil, "")
	for name, text := range map[string]string{
		"Go first":   "[" + goRec + "," + ghsa + "," + other + "]",
		"GHSA first": "[" + ghsa + "," + goRec + "," + other + "]",
		"joined by a CVE only": "[" + textRecord("GO-2021-0113", []string{"CVE-2021-38561"}, "") + "," +
			textRecord("GHSA-ppp9-7jff-5vj2", []string{"CVE-2021-38561"}, `"database_specific":{"severity":"CRITICAL"}`) + "," + other + "]",
	} {
		t.Run(name, func(t *testing.T) {
			db, err := ParseOSV([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			got := db.Lookup("golang.org/x/text", "v0.3.6")
			if len(got) != 2 {
				t.Fatalf("%d vulnerabilities, want 2: %+v", len(got), got)
			}
			v := got[0]
			if v.ID != "GO-2021-0113" || !reflect.DeepEqual(v.Aliases, []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}) ||
				v.Severity != SeverityCritical || v.Fixed != "0.3.8" {
				t.Fatalf("merged: %+v", v)
			}
			if got[1].ID != "GO-2026-0009" {
				t.Fatalf("the other: %+v", got[1])
			}
		})
	}
}

// zipOf returns a zip archive of files.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, text := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The forms in which the databases are published load: the Go
// vulnerability database's zip (records under ID/, indexes under index/),
// osv.dev's all.zip (records at the top), and a directory of records.
func TestLoadOSVArchivesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	goDB := map[string]string{
		"index/db.json":        `{"modified":"2026-12-01T00:00:00Z"}`,
		"index/modules.json":   `[{"path":"golang.org/x/text","vulns":[{"id":"GO-2026-0001"}]}]`,
		"index/vulns.json":     `[{"id":"GO-2026-0001","modified":"2026-12-01T00:00:00Z"}]`,
		"ID/GO-2026-0001.json": osvRecord1,
		"ID/GO-2026-0002.json": osvRecord2,
	}
	osvDev := map[string]string{"GO-2026-0001.json": osvRecord1, "GO-2026-0002.json": osvRecord2, "README": "not a record"}
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for name, path := range map[string]string{
		"Go vulndb zip":   write("vulndb.zip", zipOf(t, goDB)),
		"osv.dev all.zip": write("all.zip", zipOf(t, osvDev)),
	} {
		t.Run(name, func(t *testing.T) {
			db, err := LoadOSV(path)
			if err != nil || db.Records() != 2 || len(db.Lookup("golang.org/x/text", "v0.3.6")) != 1 {
				t.Fatalf("LoadOSV = %v records, %v", db.Records(), err)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		for name, text := range goDB {
			write(filepath.Join("vulndb", filepath.FromSlash(name)), []byte(text))
		}
		db, err := LoadOSV(filepath.Join(dir, "vulndb"))
		if err != nil || db.Records() != 2 {
			t.Fatalf("LoadOSV = %v records, %v", db.Records(), err)
		}
	})
	t.Run("a file in the archive that is not a record", func(t *testing.T) {
		path := write("bad.zip", zipOf(t, map[string]string{"GO-2026-0001.json": osvRecord1, "notes.json": `["x"]`}))
		if _, err := LoadOSV(path); err == nil || !strings.Contains(err.Error(), "notes.json") {
			t.Fatalf("LoadOSV = %v, want an error naming notes.json", err)
		}
	})
	t.Run("a truncated archive", func(t *testing.T) {
		whole := zipOf(t, osvDev)
		path := write("cut.zip", whole[:len(whole)-30])
		if _, err := LoadOSV(path); err == nil || !strings.Contains(err.Error(), "cut.zip") {
			t.Fatalf("LoadOSV = %v, want an error naming the file", err)
		}
	})
}

// An OSVSource reads the database again when its file changes, and keeps
// the one it had when the new one cannot be read.
func TestOSVSourceReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osv.json")
	write := func(text string, age time.Duration) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(path, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write(osvRecord2, time.Hour)
	src, err := OpenOSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if db, changed, err := src.Current(); err != nil || changed || len(db.Lookup("golang.org/x/text", "v0.3.6")) != 0 {
		t.Fatalf("unchanged: %v %v", changed, err)
	}
	write(osvRecord1, time.Minute)
	db, changed, err := src.Current()
	if err != nil || !changed || len(db.Lookup("golang.org/x/text", "v0.3.6")) != 1 {
		t.Fatalf("after the file changed: changed %v, %v", changed, err)
	}
	write("{", 0)
	kept, changed, err := src.Current()
	if err == nil || changed || kept != db {
		t.Fatalf("a broken file: changed %v, %v; want the database before kept", changed, err)
	}
}
