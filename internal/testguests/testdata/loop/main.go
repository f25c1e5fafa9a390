// Command loop is a test guest whose handler never returns: it spins in a
// tight loop, making no host calls, until the host stops it.
package main

import pave "github.com/pave-dev/pave/sdk"

// state is package-level so that the compiler must keep every store to it.
var state uint64

func init() {
	pave.Handle(func(*pave.Request) (*pave.Response, error) {
		for {
			state = state*6364136223846793005 + 1442695040888963407
		}
	})
}

func main() {}
