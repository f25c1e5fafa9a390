package jsbuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/wasmbin"
)

// writeTree writes files (slash-separated paths to contents) under a new
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBundle(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"src/index.ts": `import { greet } from "./greet";
import { shout } from "shout";
interface Env { name?: string }
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return new Response(shout(greet("ts")));
  },
};`,
		"src/greet.ts":                    `export const greet = (n: string): string => "hello " + n;`,
		"node_modules/shout/package.json": `{"name": "shout", "main": "index.js"}`,
		"node_modules/shout/index.js":     `exports.shout = (s) => s.toUpperCase() + "!";`,
		// A polyfill named like a Node built-in is the package, not the
		// built-in.
		"src/events.ts":                    `import { EventEmitter } from "events"; export const e = new EventEmitter();`,
		"node_modules/events/package.json": `{"name": "events", "main": "events.js"}`,
		"node_modules/events/events.js":    `exports.EventEmitter = function () {};`,
	})
	out, err := Bundle(dir, "src/index.ts")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"var " + GlobalName + " =", `"hello " + n`, "toUpperCase()"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bundle lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("interface")) {
		t.Errorf("bundle kept TypeScript types:\n%s", out)
	}
	if _, err := Bundle(dir, "src/events.ts"); err != nil {
		t.Errorf("an installed package named like a built-in: %v", err)
	}
}

func TestBundleErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"node built-in", map[string]string{
			"index.js": "import { readFileSync } from \"fs\";\nexport default { fetch() { return new Response(readFileSync('x')); } };",
		}, []string{`index.js:1:30: index.js imports the Node.js built-in module "fs", which pave does not provide`}},
		{"node: prefix in an imported file", map[string]string{
			"index.js":   `import "./lib/run.js"; export default {};`,
			"lib/run.js": "\n\nimport { exec } from 'node:child_process';",
		}, []string{`lib/run.js:3:22: lib/run.js imports the Node.js built-in module "node:child_process"`}},
		{"subpath of a built-in", map[string]string{
			"index.js": `import { readFile } from "fs/promises"; export default {};`,
		}, []string{`"fs/promises", which pave does not provide`}},
		{"syntax error", map[string]string{
			"index.ts": "export default {\n  fetch( {\n};",
		}, []string{`index.ts:3:2: Expected ")" but found ";"`}},
		{"missing import", map[string]string{
			"index.js": `import x from "./nope"; export default x;`,
		}, []string{`index.js:1:15: Could not resolve "./nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := "index.js"
			if _, ok := tt.files["index.ts"]; ok {
				main = "index.ts"
			}
			_, err := Bundle(writeTree(t, tt.files), main)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
				}
			}
		})
	}
}

func TestBundleMissingMain(t *testing.T) {
	if _, err := Bundle(t.TempDir(), "src/index.ts"); err == nil || !strings.Contains(err.Error(), "main:") {
		t.Errorf("err = %v, want one about main", err)
	}
}

func TestModule(t *testing.T) {
	// The smallest module: the header alone.
	engine := []byte("\x00asm\x01\x00\x00\x00")
	bundle := bytes.Repeat([]byte("x"), 300) // a size of two bytes in LEB128
	m, err := wasmbin.Parse(Module(engine, bundle))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.CustomSection(abi.InitSection)
	if !ok || !bytes.Equal(got, bundle) {
		t.Errorf("CustomSection(%q) = %q, %v; want the bundle", abi.InitSection, got, ok)
	}
}

// TestTags: the engine is built with one tag per granted capability group,
// and none for a group granted nothing.
func TestTags(t *testing.T) {
	tests := []struct {
		caps manifest.Capabilities
		want []string
	}{
		{manifest.Capabilities{}, nil},
		{manifest.Capabilities{KV: map[string]string{"orders": manifest.KVWrite}}, []string{"pave_kv"}},
		{manifest.Capabilities{HTTP: []string{"api.example.com"}, Publish: []string{"orders.created"}}, []string{"pave_http", "pave_publish"}},
		{manifest.Capabilities{Secrets: []string{"KEY"}, KV: map[string]string{"a": manifest.KVRead}, HTTP: []string{"a.example"},
			Invoke: []string{"billing"}, Publish: []string{"t"}}, []string{"pave_secrets", "pave_kv", "pave_http", "pave_invoke", "pave_publish"}},
		{manifest.Capabilities{Invoke: []string{}}, nil},
	}
	for _, tt := range tests {
		if got := Tags(&manifest.Manifest{Capabilities: tt.caps}); !slices.Equal(got, tt.want) {
			t.Errorf("Tags(%+v) = %q, want %q", tt.caps, got, tt.want)
		}
	}
}

// A function in no Go module builds the engine in the checkout this code
// was compiled from; one in a module, in its own directory.
func TestEngineDir(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	ctx := context.Background()
	outside, err := engineDir(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(outside, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module github.com/pave-dev/pave\n") {
		t.Errorf("engineDir outside a module = %s, whose go.mod is %.40q (%v)", outside, mod, err)
	}
	if inside, err := engineDir(ctx, "."); err != nil || inside != "." {
		t.Errorf("engineDir in the module = %q, %v; want .", inside, err)
	}
}
