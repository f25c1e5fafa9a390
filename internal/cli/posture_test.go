package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeManifests writes pave.yaml files under a new directory, one per
// entry, in a subdirectory named after the key.
func writeManifests(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "pave.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPostureOffline(t *testing.T) {
	dir := writeManifests(t, map[string]string{
		"open": "name: open\nowner: team-a\nroutes:\n  - method: POST\n    path: /open\n    public: true\ncapabilities:\n  http: [\"*.example.com\"]\n",
		"safe": "name: safe\nowner: team-a\nroutes:\n  - method: GET\n    path: /safe\n",
	})
	env := noDaemon(t)
	stdout, stderr, code := runPave(t, env, "", "posture", "--offline", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"PAVE-PUBLIC-ROUTE", "PAVE-PUBLIC-NO-CONTRACT", "PAVE-HTTP-WILDCARD", "open/pave.yaml"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %s:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "safe") {
		t.Errorf("the safe function has findings:\n%s", stdout)
	}

	_, stderr, code = runPave(t, env, "", "posture", "--offline", dir, "--fail-on", "medium")
	if code != 1 || !strings.Contains(stderr, "at severity medium or above") {
		t.Errorf("--fail-on medium: exit %d, %s", code, stderr)
	}
	if _, _, code = runPave(t, env, "", "posture", "--offline", dir, "--fail-on", "critical"); code != 0 {
		t.Errorf("--fail-on critical: exit %d", code)
	}

	stdout, _, code = runPave(t, env, "", "posture", "--offline", dir, "--format", "sarif")
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Version string `json:"version"`
				} `json:"driver"`
			} `json:"tool"`
			OriginalURIBaseIDs map[string]struct {
				URI string `json:"uri"`
			} `json:"originalUriBaseIds"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &sarif); err != nil || code != 0 || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) < 3 {
		t.Fatalf("sarif: exit %d, %v: %s", code, err, stdout)
	}
	// Placed in the repository: paths relative to its root (the directory
	// checked, outside a git repository), a line in each, the root's URI.
	run := sarif.Runs[0]
	if run.Tool.Driver.Version == "" {
		t.Error("no driver version")
	}
	if want := "file://" + filepath.ToSlash(dir) + "/"; run.OriginalURIBaseIDs["%SRCROOT%"].URI != want {
		t.Errorf("originalUriBaseIds = %+v, want %s", run.OriginalURIBaseIDs, want)
	}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "open/pave.yaml" || loc.ArtifactLocation.URIBaseID != "%SRCROOT%" || loc.Region.StartLine < 1 {
			t.Errorf("%s at %+v", r.RuleID, loc)
		}
	}

	bad := writeManifests(t, map[string]string{"broken": "name: Broken\n"})
	if _, stderr, code := runPave(t, env, "", "posture", "--offline", bad); code != 1 || !strings.Contains(stderr, "pave.yaml") {
		t.Errorf("a broken manifest: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{{"posture", "--format", "xml"}, {"posture", "--fail-on", "severe"}, {"posture", "--osv", "x.json"}} {
		if _, _, code := runPave(t, env, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
