package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderEveryProject renders every language and template, and checks
// what each must hold.
func TestRenderEveryProject(t *testing.T) {
	for _, lang := range Langs {
		for _, tmpl := range Templates {
			out, err := Render(Options{Name: "fn-" + tmpl, Lang: lang, Template: tmpl, Owner: "team-a"})
			if err != nil {
				t.Errorf("%s %s: %v", lang, tmpl, err)
				continue
			}
			for _, name := range []string{"pave.yaml", ".gitignore", "CODEOWNERS", "README.md", ".github/workflows/pave.yml", ".gitlab-ci.yml"} {
				if len(out[name]) == 0 {
					t.Errorf("%s %s: no %s", lang, tmpl, name)
				}
			}
			if got := string(out["CODEOWNERS"]); !strings.Contains(got, "* @team-a\n") {
				t.Errorf("%s %s: CODEOWNERS %q", lang, tmpl, got)
			}
			for _, ci := range []string{".github/workflows/pave.yml", ".gitlab-ci.yml"} {
				if !strings.Contains(string(out[ci]), "pave posture --offline . --format sarif --fail-on high > pave.sarif") {
					t.Errorf("%s %s: %s runs no posture check:\n%s", lang, tmpl, ci, out[ci])
				}
			}
			_, hasFixture := out[TestFile]
			if hasFixture == (lang == "go") {
				t.Errorf("%s %s: %s present: %v", lang, tmpl, TestFile, hasFixture)
			}
			for name, b := range out {
				if strings.Contains(string(b), "<no value>") {
					t.Errorf("%s %s: %s has <no value>", lang, tmpl, name)
				}
			}
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "main.go"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := Options{Name: "fn", Lang: "go", Template: "http", Owner: "team-a"}
	tests := []struct {
		name string
		dir  string
		edit func(*Options)
		want string
	}{
		{"bad name", filepath.Join(dir, "a"), func(o *Options) { o.Name = "Fn_1" }, `invalid name "Fn_1"`},
		{"no name", filepath.Join(dir, "a"), func(o *Options) { o.Name = "" }, "needs a name"},
		{"bad owner", filepath.Join(dir, "a"), func(o *Options) { o.Owner = "team a" }, `invalid owner "team a"`},
		{"no owner", filepath.Join(dir, "a"), func(o *Options) { o.Owner = "" }, "needs an owner"},
		{"bad language", filepath.Join(dir, "a"), func(o *Options) { o.Lang = "cobol" }, `unknown language "cobol"`},
		{"bad template", filepath.Join(dir, "a"), func(o *Options) { o.Template = "cron" }, `unknown template "cron"`},
		{"relative secret file", filepath.Join(dir, "a"), func(o *Options) { o.Template, o.SecretFile = "webhook", "hook.secret" }, "must be an absolute path"},
		{"directory not empty", full, func(*Options) {}, "already exists and is not empty"},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		_, err := Write(tt.dir, o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(full, "main.go")); string(b) != "mine" {
		t.Errorf("main.go was overwritten: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Errorf("a refused project left a directory behind")
	}
}

// TestGoProjectBuildsOffline writes a Go project outside pave's
// repository and builds and tests it with the module proxy off: the SDK
// comes from the project alone.
func TestGoProjectBuildsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, tmpl := range Templates {
		t.Run(tmpl, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "fn")
			if _, err := Write(dir, Options{Name: "fn", Lang: "go", Template: tmpl, Owner: "team-a"}); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
			for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
				cmd := exec.Command("go", args...)
				cmd.Dir, cmd.Env = dir, env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(t.TempDir(), "fn.wasm"), ".")
			cmd.Dir, cmd.Env = dir, append(env, "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build for wasip1: %v\n%s", err, out)
			}
		})
	}
}
