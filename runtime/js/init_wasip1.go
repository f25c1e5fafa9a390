//go:build wasip1

package main

import (
	"fmt"
	"io"
	"os"

	pave "github.com/pave-dev/pave/sdk"
)

// init evaluates the bundle, which the host gives the engine as its
// standard input during initialisation (the module's "pave.init" custom
// section), and registers the handler. A bundle that fails to evaluate
// fails the initialisation, and with it the deploy.
func init() {
	bundle, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pave js: reading the bundle:", err)
		os.Exit(1)
	}
	if len(bundle) == 0 {
		fmt.Fprintln(os.Stderr, "pave js: no bundle; a JavaScript function's module is built by pave build")
		os.Exit(1)
	}
	e, err := newEngine(string(bundle))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pave js: evaluating the bundle:", err)
		os.Exit(1)
	}
	// The SDK's before_snapshot collects the evaluation's garbage before
	// the snapshot is taken.
	pave.Handle(e.serve)
}
