package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pave-dev/pave/internal/functest"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/scaffold"
)

var testCommand = &command{
	name:    "test",
	args:    "[DIR]",
	summary: "run a function's tests on its module, locally",
	help: `
Builds the function in DIR (default: the current directory) as pave build
does and runs the cases in DIR/pave.test.yaml on its module, in-process, on
the runtime the daemon serves it with. Each case is a request, an event
(topic:) or a schedule's tick (schedule: true), and the status and body the
response must have; a case that fails prints what differs and the call's
log lines, and pave test exits with status 1.

The function's capabilities are faked from the file: secrets by name
(secrets:), the contents of its key-value buckets (kv:), and the answers to
its outbound requests by URL (http:); events it publishes are printed. Its grants in pave.yaml apply as in the daemon. The
gateway's checks (keys, input contracts, rate limits) do not run.

A Go function without pave.test.yaml is tested with go test ./... in DIR.
pave new writes a pave.test.yaml for the other languages.`,
	run: runTest,
}

func runTest(ctx context.Context, inv *invocation, args []string) error {
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
	fixtureFile := filepath.Join(src.dir, scaffold.TestFile)
	text, err := os.ReadFile(fixtureFile)
	if errors.Is(err, fs.ErrNotExist) && src.m.Runtime != manifest.RuntimeJS && !src.m.IsWasmFile() {
		cmd := exec.CommandContext(ctx, "go", "test", "./...")
		cmd.Dir, cmd.Stdout, cmd.Stderr = src.dir, inv.stdout, inv.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go test: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("no test cases: %w (pave new writes one; see 'pave test --help')", err)
	}
	fx, err := functest.ParseFixture(fixtureFile, text)
	if err != nil {
		return err
	}
	if err := src.build(ctx, inv.stderr); err != nil {
		if src.m.IsWasmFile() {
			return fmt.Errorf("%w (build the module first: make, if the function has a Makefile)", err)
		}
		return err
	}
	wasm, err := os.ReadFile(src.wasm)
	if err != nil {
		return err
	}
	failed, err := functest.Run(ctx, src.m, wasm, fx, functest.CacheDir(), inv.stdout)
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d test%s failed", src.m.Name, failed, len(fx.Tests), plural(len(fx.Tests)))
	}
	return nil
}
