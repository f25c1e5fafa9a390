// Command cmd-sleep is a test guest built as a plain WASI command that
// sleeps: standard input is a number of milliseconds, which it sleeps
// before writing "slept" to standard output.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmd-sleep: reading stdin:", err)
		os.Exit(1)
	}
	ms, err := strconv.Atoi(strings.TrimSpace(string(in)))
	if err != nil || ms < 0 {
		fmt.Fprintln(os.Stderr, "cmd-sleep: stdin must be a non-negative number of milliseconds")
		os.Exit(2)
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fmt.Print("slept")
}
