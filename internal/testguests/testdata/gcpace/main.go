// Command gcpace is a test guest that shows whether a garbage collection
// starts in every invocation. Its initialisation leaves the heap full of
// garbage, within 1.5 MiB of the size at which the Go runtime finishes its
// next collection; every invocation allocates 2 MiB and answers with the
// number of collections that started while it ran. From a snapshot that
// captured such a heap, every invocation would answer 1; from one taken
// after a collection, 0.
package main

import (
	"runtime"
	"strconv"

	pave "github.com/pave-dev/pave/sdk"
)

// sink keeps the allocations from being optimised away.
var sink []byte

const perCall = 2 << 20

func init() {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc+perCall*3/4 >= ms.NextGC {
			break
		}
		sink = make([]byte, 32<<10)
	}
	sink = nil
	pave.Handle(func(*pave.Request) (*pave.Response, error) {
		before := collections()
		for i := 0; i < perCall/(4<<10); i++ {
			sink = make([]byte, 4<<10)
		}
		sink = nil
		return pave.Text(200, strconv.Itoa(int(collections()-before))), nil
	})
}

func collections() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func main() {}
