package cli

import (
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/bench"
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
		{[]string{"--replicas", "3"}, "--replicas needs --nodes"},
		{[]string{"--nodes", "3", "--replicas", "4"}, "--replicas 1 to 3"},
		{[]string{"--nodes", "0", "--replicas", "1"}, "--replicas needs --nodes"},
		{[]string{"--nodes", "-1"}, "--nodes must be positive"},
		{[]string{"--nodes", "3", "--json", "x.json"}, "do not apply to --nodes"},
		{[]string{"--nodes", "3", "--lifecycle"}, "do not apply to --nodes"},
	} {
		_, stderr, code := runPave(t, noDaemon(t), "", append([]string{"bench"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("pave bench %s: exit %d, %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}

// TestBenchNATSServerHidden checks that the command pave bench --nodes
// runs its NATS servers with is run but neither listed nor completed.
func TestBenchNATSServerHidden(t *testing.T) {
	_, stderr, code := runPave(t, noDaemon(t), "", bench.NATSCommand, "--routes", "x")
	if code != 2 || !strings.Contains(stderr, "--routes") {
		t.Errorf("pave %s --routes x: exit %d, %q; want 2 and the flag's error", bench.NATSCommand, code, stderr)
	}
	help, _, _ := runPave(t, noDaemon(t), "", "help")
	completion, _, _ := runPave(t, noDaemon(t), "", "completion", "bash")
	if strings.Contains(help, bench.NATSCommand) || strings.Contains(completion, bench.NATSCommand) {
		t.Errorf("%s is listed or completed", bench.NATSCommand)
	}
}
