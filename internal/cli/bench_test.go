package cli

import (
	"strings"
	"testing"
)

// TestBenchFlags checks the command line of pave bench, which is refused
// before anything is built.
func TestBenchFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--only", "hello,nosuch"}, `no target "nosuch"`},
		{[]string{"--profile-target", "hello"}, "--profile-target needs --cpuprofile"},
		{[]string{"--cpuprofile", "x.prof", "--profile-target", "nosuch"}, `no target "nosuch" to profile`},
		{[]string{"--cpuprofile", "x.prof", "--only", "hello", "--profile-target", "key"}, `"key" is not among the targets measured`},
		{[]string{"--lifecycle", "--json", "x.json"}, "do not apply to --lifecycle"},
		{[]string{"--concurrency", "0"}, "must be positive"},
	} {
		_, stderr, code := runPave(t, noDaemon(t), "", append([]string{"bench"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("pave bench %s: exit %d, %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}
