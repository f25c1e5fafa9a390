package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/manifest"
)

func TestBuildModulePrebuilt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fn.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.wasm"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "fn.wasm")
	tests := []struct {
		module  string
		want    string
		wantErr string
	}{
		{module: "fn.wasm", want: abs},
		{module: abs, want: abs},
		{module: "missing.wasm", wantErr: "module of fn: stat " + filepath.Join(dir, "missing.wasm") + ": no such file or directory"},
		{module: "dir.wasm", wantErr: "module of fn: " + filepath.Join(dir, "dir.wasm") + " is not a file"},
	}
	for _, tt := range tests {
		m := &manifest.Manifest{Name: "fn", Module: tt.module}
		var stderr bytes.Buffer
		got, err := BuildModule(context.Background(), m, dir, &stderr)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("module %q: error %v, want %q", tt.module, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || stderr.Len() > 0 {
			t.Errorf("module %q: got %q, %v, stderr %q; want %q", tt.module, got, err, stderr.String(), tt.want)
		}
	}
}

func TestGoPackage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cmd", "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ module, want string }{
		{".", "."},
		{"./cmd/fn", "./cmd/fn"},
		{"../shared", "../shared"},
		{"cmd/fn", "./cmd/fn"},
		{"example.com/fn", "example.com/fn"},
		{filepath.Join(dir, "cmd"), filepath.Join(dir, "cmd")},
	}
	for _, tt := range tests {
		if got := goPackage(tt.module, dir); got != tt.want {
			t.Errorf("goPackage(%q) = %q, want %q", tt.module, got, tt.want)
		}
	}
}

// TestBuildModuleGo builds a Go package with the real go command.
func TestBuildModuleGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go package")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	tests := []struct {
		name    string
		main    string
		wantErr string // in the error and, from the compiler, on stderr
	}{
		{name: "compiles", main: "package main\n\nfunc main() {}\n"},
		{name: "compile error", main: "package main\n\nfunc main() { undefined() }\n", wantErr: "undefined: undefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{
				"go.mod":         "module example.com/fn\n\ngo 1.24\n",
				"cmd/fn/main.go": tt.main,
			} {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m := &manifest.Manifest{Name: "fn", Module: "cmd/fn"}
			var stderr bytes.Buffer
			got, err := BuildModule(context.Background(), m, dir, &stderr)

			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "building fn: go build: ") {
					t.Errorf("error %v, want a go build failure", err)
				}
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("stderr %q does not show the compiler's %q", stderr.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildModule: %v\n%s", err, stderr.String())
			}
			if want := filepath.Join(dir, ".pave", "fn.wasm"); got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			module, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(module, []byte("\x00asm")) {
				t.Errorf("%s is not a WebAssembly module", got)
			}
		})
	}
}

// TestBuildModuleJSErrors checks that a JavaScript function's build fails
// with the bundler's error, or the engine build's, naming what to fix.
func TestBuildModuleJSErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	tests := []struct {
		name, source, wantErr string
	}{
		{"node built-in", "import { exec } from 'child_process';\nexport default {};\n",
			`building fn: index.js:1:22: index.js imports the Node.js built-in module "child_process"`},
		{"syntax error", "export default {\n  fetch() { return new Response( }\n};\n",
			"building fn: index.js:2:"},
		// A Go module of its own that does not require pave cannot
		// provide the engine's source. (A directory in no Go module
		// builds it from this checkout: see jsbuild's TestEngineDir.)
		{"no engine source", "export default { fetch() { return new Response('hi'); } };\n",
			"building fn: building the JavaScript engine (github.com/pave-dev/pave/runtime/js, from the Go module of "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(tt.source), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fn\n\ngo 1.26\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			m := &manifest.Manifest{Name: "fn", Runtime: manifest.RuntimeJS, Main: "index.js"}
			var stderr bytes.Buffer
			_, err := BuildModule(context.Background(), m, dir, &stderr)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one starting %q", err, tt.wantErr)
			}
		})
	}
}
