package posture

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/testguests"
)

// These tests read real modules, built from this repository by the go
// command (a few seconds each the first time; testguests caches them).

// realFunction returns a guest or an example as Check sees it offline: its
// manifest from its directory and its module.
func realFunction(t *testing.T, kind, name string) Function {
	t.Helper()
	var dir string
	var mod []byte
	switch kind {
	case "guest":
		dir, mod = testguests.Dir(t, name), testguests.Build(t, name)
	case "example":
		dir, mod = testguests.ExampleDir(t, name), testguests.Example(t, name)
	}
	m, err := manifest.ParseFile(filepath.Join(dir, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return Function{Manifest: m, ManifestPath: kind + "s/" + name + "/pave.yaml", Module: mod}
}

// TestRealModulesHaveNoSecrets guards the scanner against false positives
// in the Go runtime's and standard library's data.
func TestRealModulesHaveNoSecrets(t *testing.T) {
	db, err := ParseOSV([]byte(osvRecord1))
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy()
	p.OSV = db
	for _, c := range []struct{ kind, name string }{
		{"guest", "counter"},
		{"example", "hello"},
		{"example", "notes"}, // secrets, kv and outbound HTTP: more of the library
	} {
		t.Run(c.name, func(t *testing.T) {
			f := realFunction(t, c.kind, c.name)
			leaks, err := ScanSecrets(f.Module)
			if err != nil {
				t.Fatal(err)
			}
			if len(leaks) != 0 {
				t.Errorf("leaks in %s: %v", c.name, leaks)
			}
			for _, finding := range Check(Input{Functions: []Function{f}}, p).Findings {
				if finding.Rule == RuleHardcodedSecret || finding.Rule == RuleModuleNotScanned || finding.Rule == RuleVulnerableDep {
					t.Errorf("%s: %+v", c.name, finding)
				}
			}
		})
	}
}

func TestReadBuildInfoRealModule(t *testing.T) {
	bi, err := ReadBuildInfo(testguests.Example(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	// testguests builds with the go command running the tests.
	if bi.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", bi.GoVersion, runtime.Version())
	}
	if _, ok := GoVersionSemver(bi.GoVersion); !ok && !strings.HasPrefix(bi.GoVersion, "devel") {
		t.Errorf("GoVersion %q is not a release version", bi.GoVersion)
	}
	if bi.Path != "github.com/pave-dev/pave/examples/hello" || bi.Main.Path != "github.com/pave-dev/pave" || bi.Main.Version != "(devel)" {
		t.Errorf("Path = %q, Main = %+v", bi.Path, bi.Main)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["GOOS"] != "wasip1" || settings["GOARCH"] != "wasm" || settings["-buildmode"] != "c-shared" {
		t.Errorf("settings = %v", settings)
	}
	// The example depends on nothing outside this module, so the module
	// list holds no dependency; go.mod's requirements are not linked in.
	if len(bi.Deps) != 0 {
		t.Errorf("deps = %v", bi.Deps)
	}
}

// TestOSVRealModule matches the Go version read from a real module
// against an OSV file: one record whose range holds it, and one whose
// range ends at it.
func TestOSVRealModule(t *testing.T) {
	f := realFunction(t, "example", "hello")
	bi, err := ReadBuildInfo(f.Module)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := GoVersionSemver(bi.GoVersion)
	if !ok {
		t.Skipf("built by a development toolchain (%s): the standard library has no version to match", bi.GoVersion)
	}
	next := nextPatch(t, v)
	osv := fmt.Sprintf(`{"id":"GO-TEST-FIRES","aliases":["CVE-TEST-1"],"summary":"affects the version that built the module","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":%q}]}]}]}
{"id":"GO-TEST-FIXED","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":%q}]}]}]}
{"id":"GO-TEST-LATER","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":%q}]}]}]}
`, next, v, next)
	path := filepath.Join(t.TempDir(), "osv.jsonl")
	if err := os.WriteFile(path, []byte(osv), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := LoadOSV(path)
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy()
	p.OSV = db
	var got []Finding
	for _, finding := range Check(Input{Functions: []Function{f}}, p).Findings {
		if finding.Rule == RuleVulnerableDep {
			got = append(got, finding)
		}
	}
	if len(got) != 1 {
		t.Fatalf("findings = %+v, want one of GO-TEST-FIRES", got)
	}
	for _, want := range []string{"GO-TEST-FIRES (CVE-TEST-1)", "stdlib " + bi.GoVersion, "fixed in " + next} {
		if !strings.Contains(got[0].Evidence, want) {
			t.Errorf("evidence %q lacks %q", got[0].Evidence, want)
		}
	}
	if want := "Rebuild the module with Go " + next + " or later and redeploy."; got[0].Fix != want {
		t.Errorf("fix = %q, want %q", got[0].Fix, want)
	}
	if got[0].Function != "hello" || got[0].File != "examples/hello/pave.yaml" {
		t.Errorf("finding = %+v", got[0])
	}
}

// nextPatch returns the semantic version after v's release: "1.26.8" to
// "1.26.9", "1.27.0-rc.1" to "1.27.1".
func nextPatch(t *testing.T, v string) string {
	t.Helper()
	v, _, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(n+1)
}
