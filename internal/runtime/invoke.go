package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/hostapi"
)

// Limits bound one invocation.
type Limits struct {
	Timeout time.Duration
	// Memory caps the instance's linear memory, in bytes.
	Memory int64
	// Concurrency is the function's concurrency limit; it also caps the
	// idle instances kept for it (0 keeps up to the engine's maximum).
	Concurrency int
}

// Failure classifies why an invocation did not produce a response.
type Failure string

// The failures the gateway tells apart.
const (
	FailTimeout     Failure = "timeout"
	FailOutOfMemory Failure = "out_of_memory"
	FailTrap        Failure = "trap"        // the guest crashed (panic, unreachable, bad memory access)
	FailGuestError  Failure = "guest_error" // the handler reported an error
	FailBadResponse Failure = "bad_response"
	FailCanceled    Failure = "canceled" // the caller went away
)

// GuestError is an invocation that failed inside the guest. Its Cause is
// for the log only.
type GuestError struct {
	Failure Failure
	Cause   error
}

func (e *GuestError) Error() string {
	if e.Cause == nil {
		return string(e.Failure)
	}
	return fmt.Sprintf("%s: %v", e.Failure, e.Cause)
}

func (e *GuestError) Unwrap() error { return e.Cause }

// Result is what one invocation produced.
type Result struct {
	Response *abi.Response
	Logs     []hostapi.LogLine
	// DroppedLogs counts log lines over hostapi.MaxLogLines.
	DroppedLogs int
	// MemoryBytes is the size the instance's linear memory reached.
	MemoryBytes uint64
	// Isolation is what clean state cost this invocation: instantiating
	// (and, fresh, initialising) the instance or taking it from the pool,
	// plus restoring it afterwards.
	Isolation time.Duration
}

// maxCommandOutput caps what a WASI command may write to stdout or stderr.
const maxCommandOutput = abi.MaxResponseSize

// Invoke runs req on m, from a pooled snapshot instance or a fresh
// instance, and returns its response. The
// result is returned along with a *GuestError too, so that the guest's logs
// are not lost when it fails.
func (e *Engine) Invoke(ctx context.Context, m *Module, lim Limits, req *abi.Request) (*Result, error) {
	m.lastUsed.Store(time.Now().UnixNano())
	if m.unloaded.Load() {
		return &Result{}, ErrUnloaded
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	if m.snap != nil {
		res, err := e.invokeSnapshot(ctx, m, lim, &hostapi.Call{Request: abi.AppendRequest(nil, req)})
		return res, late(ctx, res, err)
	}
	mem := &cappedMemory{limit: uint64(lim.Memory)}
	ctx = experimental.WithMemoryAllocator(ctx, mem)
	var res *Result
	var err error
	if m.Mode == Command {
		res, err = e.invokeCommand(ctx, m, req)
	} else {
		res, err = e.invokeReactor(ctx, m, req)
	}
	res.MemoryBytes = mem.peak
	if err != nil && !errors.Is(err, ErrUnloaded) {
		err = classify(ctx, mem, err)
	}
	return res, late(ctx, res, err)
}

// late fails a call that produced a response after its context was done,
// by its deadline or by its caller going away: the response came too late,
// however the guest got there (a sleep cut short by the deadline returns to
// the guest, which may answer before its next deadline check stops it).
func late(ctx context.Context, res *Result, err error) error {
	if err != nil || ctx.Err() == nil {
		return err
	}
	res.Response = nil
	failure := FailCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		failure = FailTimeout
	}
	return &GuestError{Failure: failure, Cause: fmt.Errorf("answered after the call ended: %w", ctx.Err())}
}

func (e *Engine) invokeReactor(ctx context.Context, m *Module, req *abi.Request) (*Result, error) {
	call := &hostapi.Call{Request: abi.AppendRequest(nil, req)}
	res := &Result{}
	defer func() { res.Logs, res.DroppedLogs = call.Logs, call.DroppedLogs }()

	// _initialize runs outside the invocation, as it does when a snapshot
	// is prepared at deploy: the host functions see no call in its
	// context, so it can neither read the request nor use a capability,
	// whichever isolation method is in use.
	stdio := &logWriter{call: call}
	began := time.Now()
	inst, err := e.rt.InstantiateModule(ctx, m.compiled, moduleConfig(sleepUntil(ctx)).
		WithStartFunctions("_initialize").
		WithStdin(bytes.NewReader(m.initInput)).
		WithStdout(stdio).
		WithStderr(stdio))
	res.Isolation = time.Since(began)
	if err != nil {
		if m.unloaded.Load() {
			// Only _initialize ran, which sees no call: nothing of this
			// invocation happened.
			return res, ErrUnloaded
		}
		return res, err
	}
	defer inst.Close(context.WithoutCancel(ctx))
	out, err := inst.ExportedFunction("handle").Call(hostapi.WithCall(ctx, call))
	stdio.flush()
	if err != nil {
		return res, err
	}
	return res, handleResult(out, call, res)
}

// handleResult checks what handle returned and wrote, and fills in
// res.Response.
func handleResult(out []uint64, call *hostapi.Call, res *Result) error {
	if call.ResponseRejected {
		return &GuestError{Failure: FailBadResponse, Cause: errors.New("response malformed, too large or written twice")}
	}
	if status := api.DecodeI32(out[0]); status != 0 {
		return &GuestError{Failure: FailGuestError, Cause: fmt.Errorf("handle returned %d", status)}
	}
	if call.Response == nil {
		return &GuestError{Failure: FailBadResponse, Cause: errors.New("handle returned without writing a response")}
	}
	res.Response = call.Response
	return nil
}

func (e *Engine) invokeCommand(ctx context.Context, m *Module, req *abi.Request) (*Result, error) {
	stdout := &boundedBuffer{max: maxCommandOutput}
	call := &hostapi.Call{}
	stderr := &logWriter{call: call}
	res := &Result{}
	inst, err := e.rt.InstantiateModule(ctx, m.compiled, moduleConfig(sleepUntil(ctx)).
		WithStdin(bytes.NewReader(req.Body)).
		WithStdout(stdout).
		WithStderr(stderr))
	if inst != nil {
		defer inst.Close(context.WithoutCancel(ctx))
	}
	stderr.flush()
	res.Logs, res.DroppedLogs = call.Logs, call.DroppedLogs
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil // a command that calls exit(0) explicitly
	}
	if err != nil {
		return res, err
	}
	if stdout.overflow {
		return res, &GuestError{Failure: FailBadResponse, Cause: errors.New("stdout over the response size limit")}
	}
	body := stdout.buf.Bytes()
	res.Response = &abi.Response{
		Status:  http.StatusOK,
		Headers: []abi.Header{{Name: "Content-Type", Value: http.DetectContentType(body)}},
		Body:    body,
	}
	return res, nil
}

// trial instantiates a reactor once under its limits. From a snapshot, the
// instance then waits in the pool for the first invocation.
func (e *Engine) trial(ctx context.Context, m *Module, lim Limits) error {
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	if m.snap != nil {
		p := m.snap.pool(lim.Memory)
		in, err := p.get(ctx)
		if errors.Is(err, ErrUnloaded) {
			return err
		}
		if err != nil {
			return invalid("the pre-initialised module cannot be instantiated: %v", err)
		}
		p.put(ctx, in, true, max(lim.Concurrency, 1))
		return nil
	}
	mem := &cappedMemory{limit: uint64(lim.Memory)}
	ctx = experimental.WithMemoryAllocator(ctx, mem)
	inst, err := e.rt.InstantiateModule(ctx, m.compiled, moduleConfig(sleepUntil(ctx)).
		WithStartFunctions("_initialize").
		WithStdin(bytes.NewReader(m.initInput)))
	if err != nil && m.unloaded.Load() {
		return ErrUnloaded
	}
	if err != nil {
		var gerr *GuestError
		if errors.As(classify(ctx, mem, err), &gerr) {
			switch gerr.Failure {
			case FailOutOfMemory:
				return invalid("module initialisation needs more than its memory limit of %d MiB (raise limits.memory)", lim.Memory>>20)
			case FailTimeout:
				return invalid("module initialisation did not finish within the function's timeout of %s", lim.Timeout)
			}
		}
		return invalid("module cannot be instantiated: %v", err)
	}
	return inst.Close(ctx)
}

// classify turns an instantiation or call error into a *GuestError.
func classify(ctx context.Context, mem *cappedMemory, err error) error {
	var gerr *GuestError
	if errors.As(err, &gerr) {
		return err
	}
	switch {
	case mem.refused:
		return &GuestError{Failure: FailOutOfMemory, Cause: err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &GuestError{Failure: FailTimeout, Cause: err}
	case ctx.Err() != nil:
		return &GuestError{Failure: FailCanceled, Cause: err}
	}
	return &GuestError{Failure: FailTrap, Cause: err}
}

// cappedMemory backs one instance's linear memory and refuses to grow it
// past limit. The Go runtime in the guest turns a refused grow into an
// out-of-memory crash, which classify reports as such. When image is set,
// the memory holds a copy of it up to its size (a snapshot instance); when
// region is set, the memory lives in that mapping (from
// sealedImage.mapInstance), which already holds the image and is unmapped
// by Free.
type cappedMemory struct {
	limit   uint64
	image   []byte
	region  []byte
	buf     []byte
	peak    uint64
	refused bool

	// wazero calls Free when the instance is closed, which the runtime's
	// Close may do from another goroutine while an invocation runs or is
	// being restored. Unmapping then would crash the daemon: Free is
	// deferred until the pool is done with the instance.
	mu    sync.Mutex
	inUse bool
	freed bool
}

func (m *cappedMemory) Allocate(_, _ uint64) experimental.LinearMemory { return m }

func (m *cappedMemory) Reallocate(size uint64) []byte {
	// The first allocation is the module's declared minimum, which Check
	// compared with the limit at deploy; wazero cannot handle a refusal there.
	if m.buf != nil && size > m.limit {
		m.refused = true
		return nil
	}
	switch {
	case m.region != nil && size <= uint64(len(m.region)):
		m.buf = m.region[:size:size]
	case m.region != nil:
		// The region spans the limit and the image, which is the first
		// allocation: only a grow past the limit gets here.
		m.refused = true
		return nil
	case m.buf == nil:
		// A snapshot instance starts at its module's own minimum and
		// grows to the image's size before any guest code runs (see
		// instance.start): that growth finds the image already here.
		m.buf = make([]byte, max(size, uint64(len(m.image))))
		copy(m.buf, m.image)
		m.buf = m.buf[:size]
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	default:
		grown := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), max(m.limit, size)))
		copy(grown, m.buf)
		m.buf = grown
	}
	m.image = nil // read once, at the first allocation
	m.peak = max(m.peak, size)
	return m.buf
}

// resetUsage starts the per-invocation accounting of a reused instance.
func (m *cappedMemory) resetUsage() {
	m.peak = uint64(len(m.buf))
	m.refused = false
}

// Free releases the memory, at once or, while the memory is in use, when
// it no longer is.
func (m *cappedMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.freed = true
	if !m.inUse {
		m.release()
	}
}

// use marks the memory in use: Free waits for done.
func (m *cappedMemory) use() {
	m.mu.Lock()
	m.inUse = true
	m.mu.Unlock()
}

// done ends a use, and releases the memory if Free came meanwhile. It
// reports whether the memory is still there.
func (m *cappedMemory) done() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inUse = false
	if m.freed {
		m.release()
	}
	return !m.freed
}

func (m *cappedMemory) release() {
	if m.region != nil {
		unmapInstance(m.region)
		m.region = nil
	}
	m.buf = nil
}

// logWriter turns a guest's stdout and stderr into log lines.
type logWriter struct {
	call    *hostapi.Call
	pending []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.pending = append(w.pending, p...)
			if len(w.pending) > hostapi.MaxLogLineSize {
				w.flush()
			}
			break
		}
		w.pending = append(w.pending, p[:i]...)
		w.flush()
		p = p[i+1:]
	}
	return n, nil
}

func (w *logWriter) flush() {
	if len(w.pending) > 0 {
		w.call.AddLog(slog.LevelInfo, string(w.pending))
		w.pending = w.pending[:0]
	}
}
