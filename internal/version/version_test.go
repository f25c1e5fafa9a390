package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install of a release", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"go build in a changed checkout (Go 1.24 on)", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207071414-8730f7dd7ca9+dirty"}}, "v0.0.0-20261207071414-8730f7dd7ca9+dirty"},
		{"a clean checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "e372c86d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c"}, {Key: "vcs.modified", Value: "false"}}}, "devel-e372c86d1f0a"},
		{"a changed checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "e372c86"}, {Key: "vcs.modified", Value: "true"}}}, "devel-e372c86-dirty"},
		{"no version control", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(&tc.info); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReleaseWins(t *testing.T) {
	defer func(old string) { release = old }(release)
	release = "v9.9.9"
	if got := String(); got != "v9.9.9" {
		t.Fatalf("String() = %q", got)
	}
}
