// Command pave is the pave daemon and its command-line client; see
// package internal/cli, or run "pave help".
package main

import (
	"os"

	"github.com/pave-dev/pave/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
