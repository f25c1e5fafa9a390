package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// TestImportSignaturesAreCheckedAtDeploy deploys modules that import host
// functions with the wrong types, or functions the host does not have: each
// is refused, naming the import and the signature pave provides; with the
// right types the same imports deploy.
func TestImportSignaturesAreCheckedAtDeploy(t *testing.T) {
	ctx := context.Background()
	all := func(string) bool { return true }
	for _, tc := range []struct {
		name       string
		module, fn string
		typ        []byte
		want       string // "" when the module must deploy
	}{
		{"kv get with too few parameters", "pave_kv_v1", "get", []byte{0x60, 0x01, 0x7f, 0x01, 0x7f},
			"imports pave_kv_v1.get as (i32) -> i32, but pave provides pave_kv_v1.get(i32, i32, i32, i32) -> i32"},
		{"kv cas with an i32 revision", "pave_kv_v1", "cas", []byte{0x60, 0x07, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f},
			"pave provides pave_kv_v1.cas(i32, i32, i32, i32, i32, i32, i64) -> i32"},
		{"log with a result", "pave_v1", "log", []byte{0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f},
			"imports pave_v1.log as (i32, i32, i32) -> i32, but pave provides pave_v1.log(i32, i32, i32)"},
		{"wasi fd_write with i64s", "wasi_snapshot_preview1", "fd_write", []byte{0x60, 0x04, 0x7e, 0x7e, 0x7e, 0x7e, 0x01, 0x7f},
			"but pave provides wasi_snapshot_preview1.fd_write(i32, i32, i32, i32) -> i32"},
		{"a function pave_v1 lacks", "pave_v1", "request_body\n", []byte{0x60, 0x00, 0x00},
			`imports "request_body\n", which pave_v1 does not provide`},
		{"kv get as documented", "pave_kv_v1", "get", []byte{0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f}, ""},
		{"log as documented", "pave_v1", "log", []byte{0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Prepare(ctx, "test:imports-"+tc.name, wasmtest.Importing(tc.module, tc.fn, tc.typ), all, limits)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var bad *runtime.InvalidModuleError
			if !errors.As(err, &bad) || !strings.Contains(bad.Reason, tc.want) {
				t.Fatalf("Prepare = %v, want an invalid module saying %q", err, tc.want)
			}
		})
	}
}
