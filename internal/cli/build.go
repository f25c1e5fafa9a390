package cli

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pave-dev/pave/internal/jsbuild"
	"github.com/pave-dev/pave/internal/manifest"
)

// buildDir is where BuildModule writes modules, inside a function's
// directory.
const buildDir = ".pave"

// BuildModule returns the path of the WebAssembly module of the function
// that m, read from directory dir, describes.
//
// A JavaScript function (runtime: js) is bundled from its main file and
// appended to pave's JavaScript engine (see package jsbuild) into
// dir/.pave/<name>.wasm. A module ending in .wasm is prebuilt: its path,
// relative to dir unless absolute, is returned as is. Anything else is a
// Go package, relative to dir unless it is an import path, which is built
// for GOOS=wasip1 GOARCH=wasm as a reactor (-buildmode=c-shared) into
// dir/.pave/<name>.wasm. The go command's output goes to stderr, where
// its compile errors explain a failed build.
func BuildModule(ctx context.Context, m *manifest.Manifest, dir string, stderr io.Writer) (wasmPath string, err error) {
	if m.Runtime == manifest.RuntimeJS {
		return buildJS(ctx, m, dir, stderr)
	}
	if m.IsWasmFile() {
		path := m.Module
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		info, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("module of %s: %w", m.Name, err)
		}
		if !info.Mode().IsRegular() {
			return "", fmt.Errorf("module of %s: %s is not a file", m.Name, path)
		}
		return path, nil
	}

	out := filepath.Join(dir, buildDir, m.Name+".wasm")
	// The go command runs in dir, so it gets the output path absolute.
	absOut, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", absOut, goPackage(m.Module, dir))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("building %s needs the Go toolchain (https://go.dev/dl/): %w", m.Name, err)
		}
		return "", fmt.Errorf("building %s: go build: %w", m.Name, err)
	}
	return out, nil
}

// buildJS builds a JavaScript function into dir/.pave/<name>.wasm.
func buildJS(ctx context.Context, m *manifest.Manifest, dir string, stderr io.Writer) (string, error) {
	module, err := jsbuild.Build(ctx, m, dir, stderr)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", m.Name, err)
	}
	out := filepath.Join(dir, buildDir, m.Name+".wasm")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(out, module, 0o644); err != nil {
		return "", err
	}
	return out, nil
}

// goPackage turns a manifest's module into an argument of go build, run in
// dir. The go command reads "fn" as an import path and "./fn" as a
// directory; a manifest means the directory when there is one.
func goPackage(module, dir string) string {
	if filepath.IsAbs(module) || build.IsLocalImport(filepath.ToSlash(module)) {
		return module
	}
	if info, err := os.Stat(filepath.Join(dir, module)); err == nil && info.IsDir() {
		return "./" + filepath.ToSlash(module)
	}
	return module
}
