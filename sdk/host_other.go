//go:build !wasip1

package pave

import (
	"fmt"
	"io"
	"os"
)

// logOutput receives log lines outside WebAssembly.
var logOutput io.Writer = os.Stderr

func writeLog(level Level, msg string) {
	fmt.Fprintf(logOutput, "pave %s: %s\n", level, msg)
}
