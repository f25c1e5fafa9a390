// Package version says which pave this binary is, in one place for the
// CLI's pave version, the daemon's admin API and the posture reports'
// SARIF driver.
package version

import "runtime/debug"

// release is the release this binary is, set when building one:
//
//	go build -ldflags "-X github.com/pave-dev/pave/internal/version.release=v1.2.3" ./cmd/pave
var release string

// String returns the release set at link time, else the module version:
// the version go install fetched, or, for go build in a checkout (Go 1.24
// on), a pseudo-version of its commit with "+dirty" if the tree had
// changes. Else it is "devel-" and the revision of the source it was built
// from (with "-dirty"), else "devel" (go run, or -buildvcs=false).
func String() string {
	if release != "" {
		return release
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return fromBuildInfo(info)
}

func fromBuildInfo(info *debug.BuildInfo) string {
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
