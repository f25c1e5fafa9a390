// Command fdclose is a test guest that tries to change host-side WASI state
// that outlives linear memory: with ?close=1 it closes stderr; every call
// reports whether writing to stderr still works. On pave the close is
// refused, so stderr works in every invocation.
package main

import (
	"os"
	"syscall"

	pave "github.com/pave-dev/pave/sdk"
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		report := map[string]any{}
		// Write through the raw descriptor so Go's own bookkeeping (restored
		// with memory) cannot hide the host's state.
		_, werr := syscall.Write(2, []byte("probe\n"))
		report["stderr_write_error"] = errString(werr)
		if r.Query().Get("close") == "1" {
			report["close_error"] = errString(syscall.Close(2))
			report["file_close_error"] = errString(os.Stderr.Close())
		}
		return pave.JSON(200, report), nil
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {}
