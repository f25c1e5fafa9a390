//go:build wasip1

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

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
	pave.Handle(e.serve)
	// The snapshot is taken when initialisation returns: a collection
	// still in progress then would resume, and never finish, in every
	// call. Finish one now, so calls start with none under way and with
	// the evaluation's garbage gone.
	runtime.GC()
	warmAllocator()
}

// warmSink keeps warmAllocator's allocations from being optimised away.
var warmSink []any

// warmAllocator allocates one object of every small size class, with and
// without pointers, after the collection: a collection empties the
// allocator's per-thread caches, and every call, which starts from the
// snapshot, would otherwise refill each size class it uses from the
// central lists, at a few thousand instructions each time. The objects
// are garbage at once and take a few hundred kilobytes of the image.
func warmAllocator() {
	src := make([]byte, 32<<10)
	for s := 1; s <= len(src); {
		b := append([]byte(nil), src[:s]...) // rounded up to its size class
		c := cap(b)
		warmSink = append(warmSink, b, make([]*byte, (c+7)/8))
		s = c + 1
	}
	warmSink = nil
}
