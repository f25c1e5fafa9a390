package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/testguests"
)

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	user := map[string]string{"USER": "team-a"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"bad name", user, []string{"new", "My_Fn", "--dir", filepath.Join(dir, "a")}, 1, `pave: pave.yaml:1:7: name: invalid name "My_Fn"`},
		{"no owner", nil, []string{"new", "fn", "--dir", filepath.Join(dir, "a")}, 1, "pave: a function needs an owner (--owner)"},
		{"bad language", user, []string{"new", "fn", "--lang", "cobol", "--dir", filepath.Join(dir, "a")}, 1, `unknown language "cobol": want one of go, js, ts, c, rust`},
		{"not empty", user, []string{"new", "fn", "--dir", full}, 1, "already exists and is not empty; pave new never overwrites files"},
		{"secret file without webhook", user, []string{"new", "fn", "--secret-file", "/x", "--dir", filepath.Join(dir, "a")}, 2, "--secret-file goes with --template webhook"},
		{"no name", user, []string{"new"}, 2, "want NAME, got 0 arguments"},
	}
	for _, tt := range tests {
		_, stderr, code := runPave(t, tt.env, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, code, stderr, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a refused project left its directory")
	}
}

// TestNewThenTest writes a project in C and in Go, and runs pave test on
// each: the project passes its own test as written, and a wrong
// expectation fails with what differs.
func TestNewThenTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds functions")
	}
	t.Run("c", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "greet")
		stdout, stderr, code := runPave(t, nil, "", "new", "greet", "--lang", "c", "--owner", "team-a", "--dir", dir)
		if code != 0 || !strings.Contains(stdout, "src/main.c\n") || !strings.Contains(stderr, "make && pave test") {
			t.Fatalf("pave new: exit %d\n%s%s", code, stdout, stderr)
		}
		testguests.Project(t, dir) // make, with the toolchain found here
		stdout, stderr, code = runPave(t, nil, "", "test", dir)
		if code != 0 || !strings.Contains(stdout, "ok   greets by name") || !strings.Contains(stdout, "2 passed, 0 failed") {
			t.Fatalf("pave test: exit %d\n%s%s", code, stdout, stderr)
		}
		fixture := filepath.Join(dir, "pave.test.yaml")
		text, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		wrong := strings.Replace(string(text), `body: '{"message":"Hello, Ada!"}'`, `body: '{"message":"Hello, Bob!"}'`, 1)
		if err := os.WriteFile(fixture, []byte(wrong), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code = runPave(t, nil, "", "test", dir)
		for _, want := range []string{"FAIL greets by name", `got  "{\"message\":\"Hello, Ada!\"}"`, `want "{\"message\":\"Hello, Bob!\"}"`, "1 passed, 1 failed"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("pave test with a wrong body: stdout lacks %q:\n%s", want, stdout)
			}
		}
		if code != 1 || !strings.Contains(stderr, "pave: greet: 1 of 2 tests failed") {
			t.Errorf("pave test with a wrong body: exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("go", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "tick")
		if _, stderr, code := runPave(t, nil, "", "new", "tick", "--template", "schedule", "--owner", "team-a", "--dir", dir); code != 0 {
			t.Fatalf("pave new: exit %d: %s", code, stderr)
		}
		// Without pave.test.yaml, a Go function's test is go test.
		stdout, stderr, code := runPave(t, nil, "", "test", dir)
		if code != 0 || !strings.Contains(stdout, "ok") {
			t.Fatalf("pave test: exit %d\n%s%s", code, stdout, stderr)
		}
	})
}

// TestNewPassesPosture checks every template's manifest as its CI does:
// a project as pave new writes it has no finding at severity high, so its
// first CI run is green. (The C and Rust ones name a module make builds;
// the daemon's tests build and deploy every project.)
func TestNewPassesPosture(t *testing.T) {
	for _, lang := range []string{"go", "js", "ts"} {
		for _, tmpl := range []string{"http", "webhook", "topic", "schedule"} {
			dir := filepath.Join(t.TempDir(), "fn")
			if _, stderr, code := runPave(t, nil, "", "new", "fn", "--lang", lang, "--template", tmpl, "--owner", "team-a", "--dir", dir); code != 0 {
				t.Fatalf("pave new --lang %s --template %s: %s", lang, tmpl, stderr)
			}
			stdout, stderr, code := runPave(t, nil, "", "posture", "--offline", dir, "--format", "sarif", "--fail-on", "high")
			if code != 0 || !strings.Contains(stdout, `"version": "2.1.0"`) || strings.Contains(stdout, `"ruleId"`) {
				t.Errorf("%s %s: pave posture: exit %d, %s\n%s", lang, tmpl, code, stderr, stdout)
			}
		}
	}
}
