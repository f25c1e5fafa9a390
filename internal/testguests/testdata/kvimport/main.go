// Command kvimport is a test guest that imports pave_kv_v1.get, a capability
// its manifest does not grant, so the host must refuse to deploy it. The
// handler calls the import for ?kv=1, which keeps it in the module.
package main

import (
	"strconv"

	pave "github.com/pave-dev/pave/sdk"
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		if r.Query().Get("kv") == "1" {
			return pave.Text(200, "kv get returned "+strconv.Itoa(int(kvGet("key")))+"\n"), nil
		}
		return pave.Text(200, "kv not used\n"), nil
	})
}

func main() {}
