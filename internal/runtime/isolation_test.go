package runtime_test

import (
	"context"
	"testing"

	"github.com/pave-dev/pave/abi"
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

// The snapshot is taken after a garbage collection (the Go SDK's
// before_snapshot), so a handler that allocates less than the runtime's
// margin starts no collection, whatever garbage its initialisation left:
// without it, every invocation of gcpace starts from a heap on the verge
// of a collection and marks the whole heap.
func TestSnapshotsStartNoCollectionInEveryCall(t *testing.T) {
	e, m := prepare(t, "gcpace")
	if m.Isolation != runtime.Snapshot {
		t.Fatalf("isolation %s: %s", m.Isolation, m.FallbackReason)
	}
	for i := range 5 {
		res, err := e.Invoke(context.Background(), m, limits, &abi.Request{Method: "GET", Path: "/gcpace"})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.Response.Body); got != "0" {
			t.Fatalf("call %d: %s collections started during the call, want 0", i, got)
		}
	}
}
