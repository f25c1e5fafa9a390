// Package jsbuild turns a JavaScript or TypeScript function into a pave
// module: it bundles the function's main file and everything it imports
// into one script with esbuild, and appends that script to pave's
// JavaScript engine (runtime/js), which evaluates it when the host
// initialises the module.
//
// The engine is a Go program built for wasip1 by the go command, like a
// Go function; the go command's caches make every build after the first
// quick. The bundle travels in the module's abi.InitSection custom
// section, which the host gives the module as standard input during
// initialisation, so one engine binary serves every function and each
// function is still one module with a snapshot of its own.
package jsbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
)

// EnginePackage is the import path of the engine's main package.
const EnginePackage = "github.com/pave-dev/pave/runtime/js"

// GlobalName is the global variable the bundle assigns the entry point's
// exports to; the engine finds the default export there.
const GlobalName = "__pave_main"

// MaxBundleSize is the largest bundle accepted, in bytes.
const MaxBundleSize = 16 << 20

// Build returns the module of the JavaScript function that m, read from
// directory dir, describes: the engine, built with the go command for the
// capabilities m grants, with the bundle of m.Main appended. The go
// command's output goes to stderr.
func Build(ctx context.Context, m *manifest.Manifest, dir string, stderr io.Writer) ([]byte, error) {
	if m.Runtime != manifest.RuntimeJS {
		return nil, fmt.Errorf("%s is not a JavaScript function (runtime: %s)", m.Name, m.Runtime)
	}
	bundle, err := Bundle(dir, m.Main)
	if err != nil {
		return nil, err
	}
	engine, err := BuildEngine(ctx, dir, Tags(m), stderr)
	if err != nil {
		return nil, err
	}
	return Module(engine, bundle), nil
}

// Tags returns the build tags of the engine for m: pave_ and the group's
// name (pave_kv, pave_http, ...) for each capability group m grants, in
// the order of abi.CapabilityGroups, so that the engine imports only the
// groups m grants.
func Tags(m *manifest.Manifest) []string {
	var tags []string
	for _, g := range abi.CapabilityGroups {
		if m.Capabilities.Granted(g.Name) {
			tags = append(tags, "pave_"+g.Name)
		}
	}
	return tags
}

// BuildEngine builds the engine with the given build tags, running the go
// command in dir, so that the pave module is the one dir's Go module
// resolves: in a checkout of pave, the checkout itself. When dir is in no
// Go module (a function pave new wrote, say), the go command runs in the
// pave module this program was built from instead (see engineDir).
func BuildEngine(ctx context.Context, dir string, tags []string, stderr io.Writer) ([]byte, error) {
	dir, err := engineDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "pave-jsengine-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "engine.wasm")
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, EnginePackage)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("building the JavaScript engine needs the Go toolchain (https://go.dev/dl/): %w", err)
		}
		return nil, fmt.Errorf("building the JavaScript engine (%s, from the Go module of %s): %w", EnginePackage, dir, err)
	}
	return os.ReadFile(out)
}

// paveModule is the module path of pave, whose runtime/js is the engine.
const paveModule = "github.com/pave-dev/pave"

// engineDir returns the directory to build the engine in for a function in
// dir: dir itself when it is in a Go module, which then decides the
// version of pave; otherwise the checkout of pave this program was
// compiled from, when its sources are still there (a build without
// -trimpath, such as go run ./cmd/pave or make build), or else the module
// cache's copy of the released pave this program is (go install
// github.com/pave-dev/pave/cmd/pave@VERSION put it there).
func engineDir(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("building the JavaScript engine needs the Go toolchain (https://go.dev/dl/): %w", err)
		}
		return "", fmt.Errorf("go env GOMOD in %s: %w", dir, err)
	}
	if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
		return dir, nil
	}
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil && strings.HasPrefix(string(mod), "module "+paveModule+"\n") {
			return root, nil
		}
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Path == paveModule && strings.HasPrefix(info.Main.Version, "v") {
		cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", paveModule+"@"+info.Main.Version)
		cmd.Dir = os.TempDir()
		out, err := cmd.Output()
		var mod struct{ Dir string }
		if err == nil && json.Unmarshal(out, &mod) == nil && mod.Dir != "" {
			return mod.Dir, nil
		}
	}
	return "", fmt.Errorf("building the JavaScript engine: %s is in no Go module, and the sources of the pave module this pave was built from cannot be found; run a pave installed with go install %s/cmd/pave@VERSION, or one built in a checkout of pave", dir, paveModule)
}

// Module returns engine with bundle appended as its abi.InitSection custom
// section.
func Module(engine, bundle []byte) []byte {
	name := abi.InitSection
	var payload []byte
	payload = appendU32(payload, uint32(len(name)))
	payload = append(payload, name...)
	out := slices.Grow(slices.Clone(engine), len(payload)+len(bundle)+6)
	out = append(out, 0) // custom section
	out = appendU32(out, uint32(len(payload)+len(bundle)))
	out = append(out, payload...)
	return append(out, bundle...)
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// Bundle bundles the entry point main, relative to dir, and what it
// imports (relative files and packages in node_modules) into one script
// that assigns the entry point's exports to GlobalName. TypeScript is
// compiled without type checking. An import of a Node.js built-in module
// is an error that names it and the importing file; errors carry file,
// line and column.
func Bundle(dir, main string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	entry := filepath.Join(abs, filepath.FromSlash(main))
	if info, err := os.Stat(entry); err != nil {
		return nil, fmt.Errorf("main: %w", err)
	} else if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("main: %s is not a file", entry)
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:   []string{entry},
		AbsWorkingDir: abs,
		Bundle:        true,
		Write:         false,
		Outfile:       "bundle.js",
		Format:        api.FormatIIFE,
		GlobalName:    GlobalName,
		Platform:      api.PlatformBrowser,
		Conditions:    []string{"worker", "browser"},
		// goja runs ES2022 but for async generators, which esbuild
		// rewrites into generators.
		Target:    api.ES2022,
		Supported: map[string]bool{"async-generator": false},
		Charset:   api.CharsetUTF8,
		LogLevel:  api.LogLevelSilent,
		Plugins:   []api.Plugin{refuseNodeBuiltins(abs)},
	})
	if len(res.Errors) > 0 {
		return nil, &Error{Messages: messages(abs, res.Errors)}
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("bundling %s: esbuild wrote %d files, want 1", main, len(res.OutputFiles))
	}
	out := res.OutputFiles[0].Contents
	if len(out) > MaxBundleSize {
		return nil, fmt.Errorf("bundle of %s is %d bytes; the maximum is %d", main, len(out), MaxBundleSize)
	}
	return out, nil
}

// Error is a failed bundle: one message per problem, each starting with
// file:line:column when esbuild knows where it is.
type Error struct {
	Messages []string
}

func (e *Error) Error() string {
	return strings.Join(e.Messages, "\n")
}

// messages formats esbuild's errors, at most ten, with paths relative to
// dir.
func messages(dir string, msgs []api.Message) []string {
	const max = 10
	var out []string
	for i, m := range msgs {
		if i == max {
			out = append(out, fmt.Sprintf("and %d more errors", len(msgs)-max))
			break
		}
		s := m.Text
		if l := m.Location; l != nil {
			file := l.File
			if rel, err := filepath.Rel(dir, filepath.Join(dir, file)); err == nil && !filepath.IsAbs(file) {
				file = rel
			}
			s = fmt.Sprintf("%s:%d:%d: %s", filepath.ToSlash(file), l.Line, l.Column+1, m.Text)
		}
		out = append(out, s)
	}
	return out
}

// refuseNodeBuiltins fails the import of a Node.js built-in module, by
// name or with the node: prefix, naming it and the file that imports it.
func refuseNodeBuiltins(dir string) api.Plugin {
	return api.Plugin{
		Name: "pave-node-builtins",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: `^(node:)?[a-z_]+(/[a-z_]+)?$`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				name := strings.TrimPrefix(args.Path, "node:")
				if !strings.HasPrefix(args.Path, "node:") && (!nodeBuiltins[name] || inNodeModules(args.ResolveDir, name)) {
					// Not a built-in, or an npm package of the same
					// name (such as the events polyfill) that the
					// function installed.
					return api.OnResolveResult{}, nil
				}
				importer := args.Importer
				if rel, err := filepath.Rel(dir, importer); err == nil {
					importer = filepath.ToSlash(rel)
				}
				return api.OnResolveResult{Errors: []api.Message{{
					Text: fmt.Sprintf("%s imports the Node.js built-in module %q, which pave does not provide: functions run on web APIs (Request, Response, fetch, crypto, TextEncoder), not Node's", importer, args.Path),
				}}}, nil
			})
		},
	}
}

// inNodeModules reports whether a node_modules directory in dir or one of
// its parents holds the package name.
func inNodeModules(dir, name string) bool {
	pkg, _, _ := strings.Cut(name, "/")
	for dir != "" {
		if info, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err == nil && info.IsDir() {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return false
}

// nodeBuiltins are the modules Node.js provides under bare names, as of
// Node 22 (a few more exist only with the node: prefix).
var nodeBuiltins = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`assert assert/strict async_hooks buffer child_process cluster console
		constants crypto dgram diagnostics_channel dns dns/promises domain events fs fs/promises http
		http2 https inspector inspector/promises module net os path path/posix path/win32 perf_hooks
		process punycode querystring readline readline/promises repl stream stream/consumers
		stream/promises stream/web string_decoder sys timers timers/promises tls trace_events tty
		url util util/types v8 vm wasi worker_threads zlib`) {
		nodeBuiltins[m] = true
	}
}
