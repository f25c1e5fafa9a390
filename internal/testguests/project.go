package testguests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/jsbuild"
	"github.com/pave-dev/pave/internal/manifest"
)

// Project builds the function project in dir, as pave new writes one, and
// returns its module with its manifest: a Go project as pave build does,
// with the module proxy off (its SDK is in the project); a JavaScript or
// TypeScript one bundled from dir onto the engine built from this
// repository; a C or Rust one with its Makefile and the toolchains
// scripts/wasm-toolchains.sh installs, skipping the test when they are
// missing.
func Project(t testing.TB, dir string) ([]byte, *manifest.Manifest) {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles a guest; skipped with -short")
	}
	m, err := manifest.ParseFile(filepath.Join(dir, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Runtime == manifest.RuntimeJS:
		bundle, err := jsbuild.Bundle(dir, m.Main)
		if err != nil {
			t.Fatal(err)
		}
		engine := engine(t, jsbuild.Tags(m))
		return jsbuild.Module(engine, bundle), m
	case m.IsWasmFile():
		vars := NativeToolchain(t, dir)
		cmd := exec.Command("make", vars...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s in %s: %v\n%s", strings.Join(vars, " "), dir, err, out)
		}
		wasm, err := os.ReadFile(filepath.Join(dir, m.Module))
		if err != nil {
			t.Fatal(err)
		}
		return wasm, m
	}
	out := filepath.Join(t.TempDir(), "module.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, output)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm, m
}

// engine returns the JavaScript engine built with tags, once per process.
func engine(t testing.TB, tags []string) []byte {
	t.Helper()
	v, _ := engines.LoadOrStore(strings.Join(tags, ","), new(module))
	e := v.(*module)
	e.once.Do(func() {
		var out strings.Builder
		e.wasm, e.err = jsbuild.BuildEngine(context.Background(), root(t), tags, &out)
		if e.err != nil {
			e.err = fmt.Errorf("testguests: %w\n%s", e.err, out.String())
		}
	})
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.wasm
}

// NativeToolchain returns the make variables that build the C or Rust
// project in dir with the toolchain found here, and skips the test when
// there is none: clang with wasi-libc for C; for Rust, a rustc with the
// standard library for wasm32-wasip1 or wasm32-wasi (Debian's rustc is in
// /usr/bin, where a rustup install may shadow it on the PATH).
func NativeToolchain(t testing.TB, dir string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make command; scripts/wasm-toolchains.sh installs it")
	}
	if strings.Contains(string(src), "RUSTC") {
		for _, rustc := range []string{"rustc", "/usr/bin/rustc"} {
			for _, target := range []string{"wasm32-wasip1", "wasm32-wasi"} {
				out, err := exec.Command(rustc, "--print", "target-libdir", "--target", target).Output()
				if err != nil {
					continue
				}
				if entries, err := os.ReadDir(strings.TrimSpace(string(out))); err == nil && len(entries) > 0 {
					return []string{"RUSTC=" + rustc, "RUST_TARGET=" + target}
				}
			}
		}
		t.Skip("no rustc with the standard library for wasm32-wasi; scripts/wasm-toolchains.sh installs Debian's")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("no clang; scripts/wasm-toolchains.sh installs it with wasi-libc")
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		t.Skip("no wasi-libc; scripts/wasm-toolchains.sh installs it")
	}
	return []string{"CC=clang"}
}
