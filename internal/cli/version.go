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
platform it runs on.`,
	run: runVersion,
}

func runVersion(_ context.Context, inv *invocation, args []string) error {
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	_, err := fmt.Fprintf(inv.stdout, "pave %s %s %s/%s\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
