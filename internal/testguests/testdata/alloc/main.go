// Command alloc is a test guest whose handler allocates memory without
// bound, 1 MiB at a time, writing to every page, until the host's memory
// limit stops it.
package main

import pave "github.com/pave-dev/pave/sdk"

// hoard keeps every allocation reachable so that none can be collected.
var hoard [][]byte

func init() {
	pave.Handle(func(*pave.Request) (*pave.Response, error) {
		for {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = byte(i >> 12)
			}
			hoard = append(hoard, b)
		}
	})
}

func main() {}
