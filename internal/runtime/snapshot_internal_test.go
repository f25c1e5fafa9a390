package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/testguests"
)

func secret(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

type scanReport struct {
	Leaked   []string `json:"leaked"`
	Previous string   `json:"previous"`
}

// call runs the memscan guest on instance in without restoring afterwards.
func scanOnce(t *testing.T, in *instance, s string) scanReport {
	t.Helper()
	call := &hostapi.Call{Request: abi.AppendRequest(nil, &abi.Request{Method: "GET", RawQuery: "s=" + s})}
	in.stdio.call = call
	out, err := in.handle.Call(hostapi.WithCall(context.Background(), call))
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	if err := handleResult(out, call, res); err != nil {
		t.Fatal(err)
	}
	var rep scanReport
	if err := json.Unmarshal(res.Response.Body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestScannerSeesLeaksWithoutRestore is the control for the hammer tests:
// on an instance that is NOT restored between calls, the memscan guest must
// find the previous invocation's secret. If it did not, the hammer tests
// could pass without proving anything.
func TestScannerSeesLeaksWithoutRestore(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Prepare(ctx, "memscan", testguests.Build(t, "memscan"), nil, Limits{Timeout: 5 * time.Second, Memory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if m.snap == nil {
		t.Fatalf("memscan runs fresh: %s", m.FallbackReason)
	}
	p := m.snap.pool(64 << 20)
	in, err := p.get(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	first, second := secret(t), secret(t)
	if rep := scanOnce(t, in, first); len(rep.Leaked) != 0 || rep.Previous != "" {
		t.Fatalf("a fresh instance already holds secrets: %+v", rep)
	}
	rep := scanOnce(t, in, second)
	if rep.Previous != first || len(rep.Leaked) == 0 || rep.Leaked[0] != first {
		t.Fatalf("without a restore the scanner must see the first secret, got %+v", rep)
	}
	// The guest retained enough to grow its memory, so the instance cannot
	// be restored exactly and must be refused.
	if len(in.mem.buf) == len(m.snap.image) {
		t.Fatal("memscan was expected to grow its memory")
	}
	if in.restore(m.snap) {
		t.Fatal("restore accepted an instance whose memory grew")
	}
}

// TestRestoredInstancesAreReusedAndClean runs invocations one after the
// other, so that each reuses the instance the previous one restored, and
// checks both that reuse happened and that no state survived it.
func TestRestoredInstancesAreReusedAndClean(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	m, err := e.Prepare(ctx, "counter", testguests.Build(t, "counter"), nil, lim)
	if err != nil || m.snap == nil {
		t.Fatalf("prepare: %v %v", err, m)
	}
	for i := 0; i < 50; i++ {
		s := secret(t)
		res, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: "secret=" + s})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Count          int    `json:"count"`
			BufferLen      int    `json:"buffer_len"`
			PreviousSecret string `json:"previous_secret"`
		}
		if err := json.Unmarshal(res.Response.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Count != 1 || got.BufferLen != 1024 || got.PreviousSecret != "" {
			t.Fatalf("invocation %d saw state: %+v", i, got)
		}
	}
	st := m.PoolStats()
	if st.Reused < 40 {
		t.Fatalf("instances were not reused: %+v", st)
	}
}

// TestWASIDescriptorStateDoesNotSurvive attacks state that lives on the
// host side of an instance, out of a memory restore's reach: a guest closes
// stderr, and the next invocation on the same (restored) instance must
// still have it.
func TestWASIDescriptorStateDoesNotSurvive(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	lim := Limits{Timeout: 5 * time.Second, Memory: 64 << 20}
	m, err := e.Prepare(ctx, "fdclose", testguests.Build(t, "fdclose"), nil, lim)
	if err != nil || m.snap == nil {
		t.Fatalf("prepare: %v %+v", err, m)
	}
	call := func(q string) map[string]string {
		res, err := e.Invoke(ctx, m, lim, &abi.Request{Method: "GET", RawQuery: q})
		if err != nil {
			t.Fatal(err)
		}
		var rep map[string]string
		if err := json.Unmarshal(res.Response.Body, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := call("close=1"); rep["close_error"] == "" {
		t.Errorf("closing stderr was allowed: %v", rep)
	}
	before := m.PoolStats().Reused
	for i := 0; i < 3; i++ {
		if rep := call(""); rep["stderr_write_error"] != "" {
			t.Fatalf("stderr lost after another invocation closed it: %v", rep)
		}
	}
	if m.PoolStats().Reused == before {
		t.Fatal("the instance was not reused, so the test proved nothing")
	}
}
