// Package scaffold writes new function projects: pave new. A project is
// ready as written: its manifest has an owner, an input contract where the
// function takes input, a rate limit and no grants; it has a handler and a
// test of it, a .gitignore, a CODEOWNERS line and CI workflows for GitHub
// Actions and GitLab CI that build, test and check the function's posture.
//
// The templates are embedded (files/, run through text/template), and so
// are the Go SDK's sources (package pave at the repository's root): a Go
// project gets a copy of the SDK of this very pave under pave-sdk/, which
// its go.mod replaces the SDK's module with, so it builds offline and
// outside pave's repository.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	pave "github.com/pave-dev/pave"
	"github.com/pave-dev/pave/internal/manifest"
)

//go:embed files
var files embed.FS

// Langs are the languages a project may be written in.
var Langs = []string{"go", "js", "ts", "c", "rust"}

// Templates are the kinds of function a project may start as.
var Templates = []string{"http", "webhook", "topic", "schedule"}

// Options describe a project.
type Options struct {
	// Name is the function's name, as in pave.yaml.
	Name string
	// Lang is one of Langs.
	Lang string
	// Template is one of Templates.
	Template string
	// Owner is the team that owns the function, as in pave.yaml; its
	// CODEOWNERS line names @Owner.
	Owner string
	// SecretFile is the webhook template's secret file on the daemon's
	// machine; empty means /etc/pave/NAME.webhook.secret.
	SecretFile string
	// PaveVersion is the version of pave the CI workflows install;
	// "latest" unless it is a release (vX.Y.Z).
	PaveVersion string
}

// SDKDir is where a Go project keeps its copy of the SDK.
const SDKDir = "pave-sdk"

// TestFile is the fixture pave test reads, in projects not written in Go.
const TestFile = "pave.test.yaml"

// file is one template and where it goes in the project.
type file struct {
	tmpl, out string
	langs     []string // nil: every language
}

var layout = []file{
	{tmpl: "common/pave.yaml.tmpl", out: "pave.yaml"},
	{tmpl: "common/gitignore.tmpl", out: ".gitignore"},
	{tmpl: "common/CODEOWNERS.tmpl", out: "CODEOWNERS"},
	{tmpl: "common/README.md.tmpl", out: "README.md"},
	{tmpl: "common/github.yml.tmpl", out: ".github/workflows/pave.yml"},
	{tmpl: "common/gitlab.yml.tmpl", out: ".gitlab-ci.yml"},
	{tmpl: "common/pave.test.yaml.tmpl", out: TestFile, langs: []string{"js", "ts", "c", "rust"}},
	{tmpl: "go/main.go.tmpl", out: "main.go", langs: []string{"go"}},
	{tmpl: "go/main_test.go.tmpl", out: "main_test.go", langs: []string{"go"}},
	{tmpl: "go/go.mod.tmpl", out: "go.mod", langs: []string{"go"}},
	{tmpl: "js/src/index.js.tmpl", out: "src/index.js", langs: []string{"js"}},
	{tmpl: "ts/src/index.ts.tmpl", out: "src/index.ts", langs: []string{"ts"}},
	{tmpl: "ts/tsconfig.json.tmpl", out: "tsconfig.json", langs: []string{"ts"}},
	{tmpl: "c/src/pave.h.tmpl", out: "src/pave.h", langs: []string{"c"}},
	{tmpl: "c/src/main.c.tmpl", out: "src/main.c", langs: []string{"c"}},
	{tmpl: "c/Makefile.tmpl", out: "Makefile", langs: []string{"c"}},
	{tmpl: "rust/src/pave.rs.tmpl", out: "src/pave.rs", langs: []string{"rust"}},
	{tmpl: "rust/src/lib.rs.tmpl", out: "src/lib.rs", langs: []string{"rust"}},
	{tmpl: "rust/Makefile.tmpl", out: "Makefile", langs: []string{"rust"}},
}

// data is what the templates see.
type data struct {
	Options
	Description string
	Topic       string // the topic template's topic
	JS          bool   // runtime: js
	Native      bool   // C or Rust, built by make
	LangName    string
	CrateName   string // the Rust crate's name
	GoVersion   string // go.mod's go line
	GoImage     string // the golang image's tag: 1.26
	// BuildCommand, TestCommand and DebianPackages are the CI's.
	BuildCommand, TestCommand, DebianPackages string
}

var langNames = map[string]string{"go": "Go", "js": "JavaScript", "ts": "TypeScript", "c": "C", "rust": "Rust"}

var descriptions = map[string]string{
	"http":     "Greets the name posted to it.",
	"webhook":  "Accepts the deliveries of a GitHub webhook.",
	"topic":    "Handles the events published to a topic.",
	"schedule": "Runs every hour.",
}

// Write writes the project o describes into dir, which must not exist or
// be empty, and returns the paths of the files written, relative to dir.
// Nothing is written when o is invalid; an existing file is never
// overwritten.
func Write(dir string, o Options) ([]string, error) {
	if !slices.Contains(Langs, o.Lang) {
		return nil, fmt.Errorf("unknown language %q: want one of %s", o.Lang, strings.Join(Langs, ", "))
	}
	if !slices.Contains(Templates, o.Template) {
		return nil, fmt.Errorf("unknown template %q: want one of %s", o.Template, strings.Join(Templates, ", "))
	}
	out, err := Render(o)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		_, err = f.Write(out[name])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// emptyDir checks that dir does not exist, or is an empty directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s already exists and is not empty; pave new never overwrites files", dir)
	}
	return nil
}

// Render returns the files of the project o describes, by their slash
// paths. The manifest is checked as pave deploy checks it.
func Render(o Options) (map[string][]byte, error) {
	d, err := newData(o)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range layout {
		if f.langs != nil && !slices.Contains(f.langs, o.Lang) {
			continue
		}
		// Every template may use the JavaScript handler, which the
		// JavaScript and TypeScript entry points share.
		t, err := template.New(path.Base(f.tmpl)).Option("missingkey=error").ParseFS(files, "files/"+f.tmpl, "files/common/handler.js.tmpl")
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, err
		}
		out[f.out] = b.Bytes()
	}
	// The names come from the user: the manifest's own checks say what is
	// wrong with them, in its words.
	if _, err := manifest.Parse("pave.yaml", out["pave.yaml"]); err != nil {
		return nil, err
	}
	switch o.Lang {
	case "go":
		if err := addSDK(out); err != nil {
			return nil, err
		}
	case "ts":
		dts, err := pave.Sources.ReadFile("runtime/js/pave.d.ts")
		if err != nil {
			return nil, err
		}
		out["pave.d.ts"] = dts
	}
	return out, nil
}

var goLine = regexp.MustCompile(`(?m)^go ([0-9]+\.[0-9]+)(\.[0-9]+)?$`)

func newData(o Options) (*data, error) {
	if o.Name == "" {
		return nil, errors.New("a function needs a name")
	}
	if o.Owner == "" {
		return nil, errors.New("a function needs an owner (--owner)")
	}
	if o.SecretFile == "" {
		o.SecretFile = "/etc/pave/" + o.Name + ".webhook.secret"
	}
	if !filepath.IsAbs(o.SecretFile) {
		return nil, fmt.Errorf("the webhook's secret file %q must be an absolute path on the daemon's machine", o.SecretFile)
	}
	if o.PaveVersion == "" || !strings.HasPrefix(o.PaveVersion, "v") {
		o.PaveVersion = "latest"
	}
	mod, err := pave.Sources.ReadFile("go.mod")
	if err != nil {
		return nil, err
	}
	m := goLine.FindSubmatch(mod)
	if m == nil {
		return nil, errors.New("no go line in pave's go.mod")
	}
	d := &data{
		Options:     o,
		Description: descriptions[o.Template],
		Topic:       o.Name + ".events",
		JS:          o.Lang == "js" || o.Lang == "ts",
		Native:      o.Lang == "c" || o.Lang == "rust",
		LangName:    langNames[o.Lang],
		CrateName:   strings.ReplaceAll(o.Name, "-", "_"),
		GoVersion:   string(m[1]) + string(m[2]),
		GoImage:     string(m[1]),
	}
	switch o.Lang {
	case "go":
		d.BuildCommand, d.TestCommand = "pave build .", "go vet ./... && go test ./..."
	case "js", "ts":
		d.BuildCommand, d.TestCommand = "pave build .", "pave test ."
	case "c":
		d.BuildCommand, d.TestCommand = "make", "pave test ."
		d.DebianPackages = "make clang lld wasi-libc libclang-rt-dev-wasm32"
	case "rust":
		d.BuildCommand, d.TestCommand = "make", "pave test ."
		d.DebianPackages = "make rustc libstd-rust-dev-wasm32"
	}
	return d, nil
}

// addSDK adds the SDK's packages, without their tests, under SDKDir, as
// the module github.com/pave-dev/pave.
func addSDK(out map[string][]byte) error {
	mod, err := pave.Sources.ReadFile("go.mod")
	if err != nil {
		return err
	}
	out[SDKDir+"/go.mod"] = []byte("// The pave SDK of the pave that wrote this project; see ../go.mod.\nmodule github.com/pave-dev/pave\n\n" + string(goLine.Find(mod)) + "\n")
	return fs.WalkDir(pave.Sources, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		top, _, _ := strings.Cut(p, "/")
		if e.IsDir() || (top != "sdk" && top != "abi") || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(p, "/testdata/") {
			return nil
		}
		b, err := pave.Sources.ReadFile(p)
		if err != nil {
			return err
		}
		out[path.Join(SDKDir, p)] = b
		return nil
	})
}
