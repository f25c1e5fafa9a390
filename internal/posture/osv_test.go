package posture

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

const osvRecord1 = `{"id":"GO-2026-0001","aliases":["CVE-2026-0001"],"summary":"Text panics",
 "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/text"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}]}]}`

const osvRecord2 = `{"id":"GO-2026-0002","summary":"Standard library bug",
 "affected":[{"package":{"ecosystem":"Go","name":"stdlib"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"1.25.0"},{"fixed":"1.25.3"},{"introduced":"1.26.0-0"},{"fixed":"1.26.2"}]}]}]}`

func TestParseOSVForms(t *testing.T) {
	for name, text := range map[string]string{
		"array":                     "[" + osvRecord1 + ",\n" + osvRecord2 + "]",
		"array with space":          "\n  [ " + osvRecord1 + " , " + osvRecord2 + " ]\n",
		"JSON lines":                strings.ReplaceAll(osvRecord1, "\n", "") + "\n" + strings.ReplaceAll(osvRecord2, "\n", "") + "\n",
		"records one after another": osvRecord1 + osvRecord2,
	} {
		t.Run(name, func(t *testing.T) {
			db, err := ParseOSV([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if db.Records() != 2 {
				t.Errorf("%d records, want 2", db.Records())
			}
			if v := db.Lookup("golang.org/x/text", "v0.3.7"); len(v) != 1 || v[0].ID != "GO-2026-0001" || v[0].Fixed != "0.3.8" {
				t.Errorf("x/text v0.3.7: %+v", v)
			}
			if v := db.Lookup("stdlib", "1.26.1"); len(v) != 1 || v[0].ID != "GO-2026-0002" || v[0].Fixed != "1.26.2" {
				t.Errorf("stdlib 1.26.1: %+v", v)
			}
		})
	}
	t.Run("single record", func(t *testing.T) {
		db, err := ParseOSV([]byte(osvRecord1))
		if err != nil || db.Records() != 1 || len(db.Lookup("golang.org/x/text", "v0.1.0")) != 1 {
			t.Errorf("ParseOSV = %v records, %v", db.Records(), err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		for _, text := range []string{"", " \n", "[]"} {
			db, err := ParseOSV([]byte(text))
			if err != nil || db.Records() != 0 {
				t.Errorf("ParseOSV(%q) = %v, %v", text, db.Records(), err)
			}
		}
	})
}

func TestParseOSVErrors(t *testing.T) {
	for name, text := range map[string]string{
		"not JSON":             "GO-2026-0001",
		"truncated":            osvRecord1[:40],
		"array of strings":     `["GO-2026-0001"]`,
		"a number":             `42`,
		"record without id":    `{"summary":"x","affected":[]}`,
		"wrong type":           `{"id":"X","affected":{"package":"stdlib"}}`,
		"garbage after":        osvRecord1 + "\n}",
		"array then garbage":   "[" + osvRecord1 + "] x",
		"record then a list":   osvRecord1 + "\n[]",
		"events of wrong type": `{"id":"X","affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[1]}]}]}`,
	} {
		if _, err := ParseOSV([]byte(text)); err == nil {
			t.Errorf("%s: ParseOSV accepted %q", name, text)
		}
	}
}

func TestOSVLookup(t *testing.T) {
	rec := func(id, ranges, versions string) string {
		return `{"id":"` + id + `","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[` + ranges + `],"versions":[` + versions + `]}]}`
	}
	db, err := ParseOSV([]byte("[" + strings.Join([]string{
		rec("FIXED", `{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.0"}]}`, ""),
		rec("LAST", `{"type":"SEMVER","events":[{"introduced":"2.0.0"},{"last_affected":"2.1.0"}]}`, ""),
		rec("TWO-RANGES", `{"type":"SEMVER","events":[{"introduced":"3.0.0"},{"fixed":"3.0.5"},{"introduced":"3.1.0"},{"fixed":"3.1.2"}]}`, ""),
		rec("UNSORTED", `{"type":"SEMVER","events":[{"fixed":"4.5.0"},{"introduced":"4.0.0"}]}`, ""),
		rec("LIMIT", `{"type":"SEMVER","events":[{"introduced":"5.0.0"},{"limit":"5.3.0"}]}`, ""),
		rec("ZERO", `{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.1.0"}]}`, ""),
		rec("ECOSYSTEM", `{"type":"ECOSYSTEM","events":[{"introduced":"6.0.0"},{"fixed":"6.0.1"}]}`, ""),
		rec("GIT", `{"type":"GIT","events":[{"introduced":"0"},{"fixed":"abc123"}]}`, ""),
		rec("BAD-EVENT", `{"type":"SEMVER","events":[{"introduced":"seven"},{"fixed":"8.0.0"}]}`, ""),
		rec("TWO-KEYS", `{"type":"SEMVER","events":[{"introduced":"9.0.0","fixed":"9.1.0"}]}`, ""),
		rec("LISTED", "", `"10.0.0","v10.0.3"`),
		rec("OPEN", `{"type":"SEMVER","events":[{"introduced":"11.0.0"}]}`, ""),
		`{"id":"WITHDRAWN","withdrawn":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
		`{"id":"NPM","affected":[{"package":{"ecosystem":"npm","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
	}, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version string
		want    []string // ids
		fixed   string   // of the first
	}{
		{"v0.9.9", nil, ""},
		{"v1.0.0", []string{"FIXED"}, "1.2.0"},
		{"v1.1.9", []string{"FIXED"}, "1.2.0"},
		{"v1.2.0-rc.1", []string{"FIXED"}, "1.2.0"},
		{"v1.2.0", nil, ""},
		{"v2.0.0", []string{"LAST"}, ""},
		{"v2.1.0", []string{"LAST"}, ""},
		{"v2.1.0+incompatible", []string{"LAST"}, ""},
		{"v2.1.1", nil, ""},
		{"v3.0.4", []string{"TWO-RANGES"}, "3.0.5"},
		{"v3.0.7", nil, ""},
		{"v3.1.1", []string{"TWO-RANGES"}, "3.1.2"},
		{"v3.1.2", nil, ""},
		{"v4.2.0", []string{"UNSORTED"}, "4.5.0"},
		{"v5.2.9", []string{"LIMIT"}, ""},
		{"v5.3.0", nil, ""},
		{"v0.0.0-20210101000000-abcdef123456", []string{"ZERO"}, "0.1.0"}, // below every release, above "0"
		{"v0.0.9", []string{"ZERO"}, "0.1.0"},
		{"v6.0.0", []string{"ECOSYSTEM"}, "6.0.1"},
		{"v7.0.0", nil, ""}, // BAD-EVENT matches nothing
		{"v9.0.5", nil, ""}, // TWO-KEYS matches nothing
		{"v10.0.0", []string{"LISTED"}, ""},
		{"v10.0.1", nil, ""},
		{"10.0.3", []string{"LISTED"}, ""},
		{"v11.4.0", []string{"OPEN"}, ""},
		{"not-a-version", nil, ""},
	} {
		got := db.Lookup("example.com/m", tc.version)
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
			if v.Package != "example.com/m" || v.Version != tc.version {
				t.Errorf("%s: %+v", tc.version, v)
			}
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("Lookup(%s) = %v, want %v", tc.version, ids, tc.want)
			continue
		}
		if len(got) > 0 && got[0].Fixed != tc.fixed {
			t.Errorf("Lookup(%s) fixed = %q, want %q", tc.version, got[0].Fixed, tc.fixed)
		}
	}
	if got := db.Lookup("example.com/other", "v1.0.0"); got != nil {
		t.Errorf("another package: %+v", got)
	}
	var none *OSV
	if none.Lookup("stdlib", "1.0.0") != nil || none.Match(&debug.BuildInfo{GoVersion: "go1.0"}) != nil || none.Records() != 0 {
		t.Error("a nil OSV matched something")
	}
}

func TestOSVMatch(t *testing.T) {
	db, err := ParseOSV([]byte("[" + osvRecord1 + "," + osvRecord2 + `,
	 {"id":"GO-2026-0003","affected":[{"package":{"ecosystem":"Go","name":"example.com/new"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.5.0"},{"fixed":"1.5.1"}]}]}]},
	 {"id":"GO-2026-0004","affected":[{"package":{"ecosystem":"Go","name":"example.com/old"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]},
	 {"id":"GO-2026-0005","affected":[{"package":{"ecosystem":"Go","name":"toolchain"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.26.0-0"},{"fixed":"1.26.2"}]}]}]},
	 {"id":"GO-2026-0006","affected":[{"package":{"ecosystem":"Go","name":"example.com/app"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	bi, err := debug.ParseBuildInfo(testModInfo)
	if err != nil {
		t.Fatal(err)
	}
	bi.GoVersion = "go1.26.1"
	var got []string
	for _, v := range db.Match(bi) {
		got = append(got, v.ID+" "+v.Package+" "+v.Version+" "+v.Fixed)
	}
	// example.com/old is replaced by example.com/new, so it is the new
	// module that was compiled in; the main module is not a dependency.
	want := []string{
		"GO-2026-0003 example.com/new v1.5.0 1.5.1",
		"GO-2026-0001 golang.org/x/text v0.3.7 0.3.8",
		"GO-2026-0002 stdlib go1.26.1 1.26.2",
		"GO-2026-0005 toolchain go1.26.1 1.26.2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Match =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadOSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.json")
	if err := os.WriteFile(path, []byte("["+osvRecord1+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := LoadOSV(path)
	if err != nil || db.Records() != 1 {
		t.Fatalf("LoadOSV = %v, %v", db, err)
	}
	if _, err := LoadOSV(filepath.Join(dir, "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOSV(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v, want an error naming it", err)
	}
}
