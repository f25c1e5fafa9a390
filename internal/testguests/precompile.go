package testguests

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// EnvPrecompileDir names the compilation cache the test in package
// precompile fills.
const EnvPrecompileDir = "PAVE_PRECOMPILE_DIR"

// PrecompileInto fills the wazero compilation cache in dir with the
// machine code of every Go reactor guest and Go example as the runtime
// serves them, compiled by a test process built without the race
// detector (package precompile), and reports how long that took. A test
// binary built with the detector instruments wazero's compiler too, which
// then takes several seconds per module and is most of what the daemon's
// and the runtime's tests spend; the machine code, which is what the tests
// run, is the same either way, and the tests still compile every other
// module themselves. In a build without the detector, or with go test
// -short, it does nothing. An error leaves the cache as it was, and the
// tests compile as they would have: callers report it and go on.
//
// Call it from TestMain, which must call flag.Parse first.
func PrecompileInto(dir string) (time.Duration, error) {
	if !raceEnabled || !flag.Parsed() || testing.Short() {
		return 0, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run=^TestPrecompile$", "./internal/testguests/precompile")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), EnvPrecompileDir+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go test ./internal/testguests/precompile: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	return time.Since(began), nil
}
