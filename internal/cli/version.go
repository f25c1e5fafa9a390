package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/pave-dev/pave/internal/version"
)

var versionCommand = &command{
	name:    "version",
	summary: "print pave's version",
	help: `
Prints the version of pave, the Go release it was built with, and the
platform it runs on; 'pave --version' does the same. The version is the
release a build was given, or the version of the module that go install
fetched, or what the go command records of a checkout: its commit as a
pseudo-version such as v0.0.0-20261207071414-8730f7dd7ca9, with +dirty
when the tree had changes. A build without that record ('go run', or
-buildvcs=false) says devel.`,
	run: runVersion,
}

func runVersion(_ context.Context, inv *invocation, args []string) error {
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	_, err := fmt.Fprintf(inv.stdout, "pave %s %s %s/%s\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
