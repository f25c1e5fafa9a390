package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/manifest"
)

// manifestName is the file name of a function's manifest in its directory.
const manifestName = "pave.yaml"

var buildCommand = &command{
	name:    "build",
	args:    "[DIR]",
	summary: "build a function's WebAssembly module",
	help: `
Builds the module of the function that DIR/pave.yaml describes (DIR is the
current directory by default) and prints its path, size and digest.

A Go package is compiled with 'GOOS=wasip1 GOARCH=wasm go build
-buildmode=c-shared' into DIR/.pave/NAME.wasm, so the go command must be
installed. A JavaScript or TypeScript function (runtime: js) has its main
file and imports bundled into one script, which is appended to pave's
JavaScript engine, built by the go command too. A module ending in .wasm
is prebuilt and only looked up. Deploy
builds by itself: build is for looking at the result, or for finding
compile errors without a daemon.`,
	run: runBuild,
}

func runBuild(ctx context.Context, inv *invocation, args []string) error {
	pos, err := inv.parse(args, 0, 1)
	if err != nil {
		return err
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	src, err := loadSource(dir)
	if err != nil {
		return err
	}
	// A first build compiles Go's standard library for WebAssembly.
	built := func(w io.Writer) error { return src.build(ctx, w) }
	if err := newProgress(inv.stderr).step(task{doing: "building", done: "built", what: src.dir}, built); err != nil {
		return err
	}
	module, err := os.ReadFile(src.wasm)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "%s  %s  %s\n", src.wasm, formatSize(int64(len(module))), client.Digest(module))
	return err
}

var deployCommand = &command{
	name:    "deploy",
	args:    "[DIR|FILE ...]",
	summary: "build and deploy functions",
	help: `
Deploys a new version of each function named: a FILE is a pave.yaml, a DIR
holds one; the default is the current directory. A function whose active
version has the same module and manifest already is left as it is, and
reported "unchanged". Every manifest is checked
before anything is built or deployed. Each module is then built as 'pave
build' does, uploaded unless the daemon already stores it, and deployed
with its manifest, which the daemon checks again and keeps with the
version. A build or deploy that takes more than two seconds is reported
on stderr while it runs (the first of each compiles a lot: Go's standard
library for WebAssembly, then the module to machine code).`,
	run: runDeploy,
}

func runDeploy(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	paths, err := inv.parse(args, 0, -1)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	srcs := make([]*source, 0, len(paths))
	for _, p := range paths {
		src, err := loadSource(p)
		if err != nil {
			return err
		}
		srcs = append(srcs, src)
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	prog := newProgress(inv.stderr)
	for _, src := range srcs {
		fn, err := buildAndDeploy(ctx, c, src, prog)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s %s version %d (%s)\n", deployVerb(fn), fn.Name, fn.Version, shortDigest(fn.Digest))
		if err := printRoutes(inv.stdout, fn.Routes); err != nil {
			return err
		}
	}
	return nil
}

// buildAndDeploy builds src and deploys it, reporting to prog a build or
// deploy that takes more than a moment: a first build compiles Go's
// standard library for WebAssembly, and a first deploy compiles the module
// to machine code, each of which can take seconds to minutes.
func buildAndDeploy(ctx context.Context, c *client.Client, src *source, prog *progress) (*client.Function, error) {
	err := prog.step(task{doing: "building", done: "built", what: src.dir}, func(w io.Writer) error { return src.build(ctx, w) })
	if err != nil {
		return nil, err
	}
	var fn *client.Function
	err = prog.step(task{doing: "deploying", done: "deployed", what: src.m.Name}, func(io.Writer) (err error) {
		fn, err = src.deploy(ctx, c)
		return err
	})
	return fn, err
}

// deployVerb says what a deploy did: "deployed" a new version, or found
// the function "unchanged".
func deployVerb(fn *client.Function) string {
	if fn.Unchanged {
		return "unchanged"
	}
	return "deployed"
}

// source is a function as it is on disk: its manifest and, once built,
// its module.
type source struct {
	// file is the manifest's path, as given by the user.
	file string
	// dir is the function's directory, which relative paths in the
	// manifest start from.
	dir  string
	text []byte
	m    *manifest.Manifest
	// wasm is the path of the module, set by build.
	wasm string
}

// loadSource reads and checks a function's manifest. path is either the
// manifest or the directory that holds it as pave.yaml.
func loadSource(path string) (*source, error) {
	src := &source{file: path, dir: filepath.Dir(path)}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		src.file, src.dir = filepath.Join(path, manifestName), path
	}
	text, err := os.ReadFile(src.file)
	if errors.Is(err, fs.ErrNotExist) && src.file != path {
		return nil, fmt.Errorf("no %s in %s", manifestName, path)
	}
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(src.file, text)
	if err != nil {
		return nil, err
	}
	src.text, src.m = text, m
	return src, nil
}

// build builds the function's module; see BuildModule.
func (s *source) build(ctx context.Context, stderr io.Writer) error {
	wasm, err := BuildModule(ctx, s.m, s.dir, stderr)
	if err != nil {
		return err
	}
	s.wasm = wasm
	return nil
}

// deploy uploads the built module and deploys it with the manifest.
func (s *source) deploy(ctx context.Context, c *client.Client) (*client.Function, error) {
	module, err := os.ReadFile(s.wasm)
	if err != nil {
		return nil, err
	}
	digest, err := c.PutBlob(ctx, module)
	if err != nil {
		return nil, fmt.Errorf("uploading the module of %s: %w", s.m.Name, err)
	}
	files, err := s.schemaFiles()
	if err != nil {
		return nil, err
	}
	fn, err := c.Deploy(ctx, client.DeployRequest{
		Manifest:     string(s.text),
		ManifestFile: repoPath(s.file),
		Digest:       digest,
		Files:        files,
	})
	if err != nil {
		return nil, fmt.Errorf("deploying %s: %w", s.m.Name, err)
	}
	return fn, nil
}

// schemaFiles reads the schema files the manifest names, which the daemon
// compiles and stores with the version.
func (s *source) schemaFiles() (map[string]string, error) {
	var files map[string]string
	for _, ref := range s.m.AllSchemaRefs() {
		if ref.File == "" {
			continue
		}
		f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(ref.File)))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: schema: %w", s.file, ref.Line, err)
		}
		text, err := io.ReadAll(io.LimitReader(f, manifest.MaxSchemaFileSize+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: schema: %w", s.file, ref.Line, err)
		}
		if len(text) > manifest.MaxSchemaFileSize {
			return nil, fmt.Errorf("%s:%d: schema file %s is larger than %d bytes", s.file, ref.Line, ref.File, manifest.MaxSchemaFileSize)
		}
		if files == nil {
			files = map[string]string{}
		}
		files[ref.File] = string(text)
	}
	return files, nil
}
