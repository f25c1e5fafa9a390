//go:build wasip1

package secrets

import "unsafe"

//go:wasmimport pave_secrets_v1 get
func hostSecretGet(namePtr unsafe.Pointer, nameLen int32) int32

func hostGet(name string) int32 {
	return hostSecretGet(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)))
}
