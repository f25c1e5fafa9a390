// Command initloop is a test guest whose package initialisation never
// returns: deploying it must fail at the initialisation deadline instead of
// hanging.
package main

import pave "github.com/pave-dev/pave/sdk"

var spins uint64

func init() {
	pave.Handle(func(*pave.Request) (*pave.Response, error) { return pave.Text(200, "unreachable\n"), nil })
	for {
		spins++
	}
}

func main() {}
