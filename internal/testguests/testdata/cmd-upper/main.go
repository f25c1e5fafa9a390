// Command cmd-upper is a test guest built as a plain WASI command, the
// compatibility path: it copies standard input to standard output in upper
// case. Given exactly "fail" it writes to standard error and exits 3.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmd-upper: reading stdin:", err)
		os.Exit(1)
	}
	if string(in) == "fail" {
		fmt.Fprintln(os.Stderr, "cmd-upper: failing as asked")
		os.Exit(3)
	}
	if _, err := os.Stdout.Write(bytes.ToUpper(in)); err != nil {
		fmt.Fprintln(os.Stderr, "cmd-upper: writing stdout:", err)
		os.Exit(1)
	}
}
