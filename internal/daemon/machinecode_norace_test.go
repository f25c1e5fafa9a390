// The race detector slows wazero's compiler several times: this test,
// which must compile a module from nothing, took 45 s under it, most of
// the daemon's race run's longest test. It is left out of race builds and
// make check runs it without the detector; the swap from the interpreter
// to machine code it relies on is attacked under the detector by the
// runtime's TestInterpreterServesUntilMachineCode.

//go:build !race

package daemon_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestNewModuleServesBeforeItsMachineCode deploys on the default
// configuration, where a new module serves on wazero's interpreter while
// its machine code compiles: the deploy answers, and calls are served with
// clean state, before the machine code is ready and after.
func TestNewModuleServesBeforeItsMachineCode(t *testing.T) {
	t.Parallel()
	n := startWith(t, func(c *config.Config) {
		c.CompileBeforeServing = false
		c.CacheDir = t.TempDir() // nothing compiled yet: the compilation takes its time
	})
	ctx := context.Background()
	digest, err := n.admin.PutBlob(ctx, testguests.Build(t, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.Deploy(ctx, client.DeployRequest{Manifest: manifestFor("counter", route("GET", "/counter"), ""), ManifestFile: "pave.yaml", Digest: digest}); err != nil {
		t.Fatal(err)
	}
	if got := n.d.InterpretedModules(); got != 1 {
		t.Fatalf("right after the deploy %d modules are interpreted, want 1", got)
	}
	key := n.key("k", "counter")
	check := func(when string) {
		t.Helper()
		for i := range 2 {
			r := n.call("GET", "/counter?secret=s"+strconv.Itoa(i), key, nil)
			if r.status != 200 || !strings.Contains(string(r.body), `"count":1,`) || !strings.Contains(string(r.body), `"previous_secret":""`) {
				t.Fatalf("%s, call %d: %d %s", when, i, r.status, r.body)
			}
		}
	}
	check("on the interpreter")
	n.machineCode()
	check("on machine code")
}
