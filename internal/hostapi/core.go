package hostapi

import (
	"context"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/pave-dev/pave/abi"
)

// InstantiateCore adds the pave_v1 module (request_size, request_read,
// response_write, log, result_read) to r. See docs/ABI.md.
func InstantiateCore(ctx context.Context, r wazero.Runtime) error {
	i32 := api.ValueTypeI32
	b := r.NewHostModuleBuilder(CoreModule)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(requestSize), nil, []api.ValueType{i32}).
		Export(abi.FuncRequestSize)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(requestRead), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		Export(abi.FuncRequestRead)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(responseWrite), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		Export(abi.FuncResponseWrite)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(logLine), []api.ValueType{i32, i32, i32}, nil).
		Export(abi.FuncLog)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(resultRead), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		Export(abi.FuncResultRead)
	_, err := b.Instantiate(ctx)
	return err
}

// failed is what an i32-returning host function answers on error.
const failed = ^uint64(0) >> 32 // -1 as an i32

func requestSize(ctx context.Context, _ api.Module, stack []uint64) {
	c := CallFrom(ctx)
	if c == nil {
		stack[0] = failed
		return
	}
	stack[0] = uint64(len(c.Request))
}

// inMemory reports whether the guest's range [ptr, ptr+n) lies inside its
// memory, as docs/ABI.md requires of every range the guest names, including
// the part of a buffer the host does not touch.
func inMemory(m api.Module, ptr, n uint32) bool {
	mem := m.Memory()
	return mem != nil && uint64(ptr)+uint64(n) <= uint64(mem.Size())
}

func requestRead(ctx context.Context, m api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	c := CallFrom(ctx)
	if c == nil || int(n) < len(c.Request) || !inMemory(m, ptr, n) || !m.Memory().Write(ptr, c.Request) {
		stack[0] = failed
		return
	}
	stack[0] = uint64(len(c.Request))
}

func responseWrite(ctx context.Context, m api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	c := CallFrom(ctx)
	if c == nil {
		stack[0] = failed
		return
	}
	b, ok := m.Memory().Read(ptr, n)
	if c.Response != nil || n > abi.MaxResponseSize || !ok {
		c.ResponseRejected = true
		stack[0] = failed
		return
	}
	// Decoding copies out of guest memory and validates the status and
	// headers, so a guest cannot split or smuggle headers.
	resp, err := abi.DecodeResponse(b)
	if err != nil {
		c.ResponseRejected = true
		stack[0] = failed
		return
	}
	c.Response = resp
	stack[0] = 0
}

func logLine(ctx context.Context, m api.Module, stack []uint64) {
	level, ptr, n := api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	c := CallFrom(ctx)
	if c == nil || !inMemory(m, ptr, n) {
		return // a line whose range is not inside memory is dropped
	}
	if n > MaxLogLineSize {
		n = MaxLogLineSize + 1 // AddLog marks the truncation
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return
	}
	c.AddLog(guestLevel(level), string(b))
}

// guestLevel maps the ABI's 0..3 to slog levels; anything else is info.
func guestLevel(l int32) slog.Level {
	switch l {
	case 0:
		return slog.LevelDebug
	case 2:
		return slog.LevelWarn
	case 3:
		return slog.LevelError
	}
	return slog.LevelInfo
}
