package runtime_test

import (
	"context"
	"testing"

	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/testguests"
)

func TestGuestsRunFromSnapshots(t *testing.T) {
	for _, name := range []string{"counter", "abuse", "alloc", "loop", "sandbox", "slow", "trap"} {
		t.Run(name, func(t *testing.T) {
			m, err := engine.Load(context.Background(), "test:"+name, func(context.Context) ([]byte, error) {
				return testguests.Build(t, name), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.Isolation != runtime.Snapshot {
				t.Fatalf("isolation %s: %s", m.Isolation, m.FallbackReason)
			}
		})
	}
}
