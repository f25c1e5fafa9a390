package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release this binary is, set when building one:
//
//	go build -ldflags "-X github.com/pave-dev/pave/internal/cli.version=v1.2.3" ./cmd/pave
//
// Without it, the version comes from the module's build information.
var version string

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
	_, err := fmt.Fprintf(inv.stdout, "pave %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// buildVersion returns the version set at link time, else the module
// version (when installed with go install), else the revision of the
// source it was built from, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "devel"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return "devel-" + revision
}
