package hostapi

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// errnoNotSup is WASI's ENOTSUP.
const errnoNotSup = 58

// fdTableCalls are the WASI functions that change an instance's file
// descriptor table. Guests have no filesystem, so the table only ever holds
// stdin, stdout and stderr; these calls could only close or alter them, and
// that state lives on the host side of the instance, where a snapshot
// restore does not reach. Refusing them keeps the table the same in every
// invocation.
var fdTableCalls = []struct {
	name   string
	params []api.ValueType
}{
	{"fd_close", []api.ValueType{api.ValueTypeI32}},
	{"fd_renumber", []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}},
	{"fd_fdstat_set_flags", []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}},
	{"fd_fdstat_set_rights", []api.ValueType{api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeI64}},
}

// InstantiateWASI adds wasi_snapshot_preview1 to r: wazero's
// implementation, with the calls that change the file descriptor table
// answering ENOTSUP and changing nothing.
func InstantiateWASI(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	refuse := api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
		stack[0] = errnoNotSup
	})
	for _, c := range fdTableCalls {
		b.NewFunctionBuilder().
			WithGoModuleFunction(refuse, c.params, []api.ValueType{api.ValueTypeI32}).
			Export(c.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}
