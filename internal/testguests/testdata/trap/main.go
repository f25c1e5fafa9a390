// Command trap is a test guest whose handler fails in the way ?mode= asks:
//
//	panic        panics; the SDK recovers, logs and fails the invocation
//	nil          dereferences a nil pointer, a runtime panic the SDK recovers
//	unreachable  executes the WebAssembly unreachable instruction, a trap
//	             that ends the call with no chance to recover
//	exit         calls os.Exit(7) from inside the handler
//	error        returns an error; so does any other mode
package main

import (
	"errors"
	"fmt"
	"os"

	pave "github.com/pave-dev/pave/sdk"
)

type node struct{ next *node }

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		switch mode := r.Query().Get("mode"); mode {
		case "panic":
			panic("trap: deliberate panic")
		case "nil":
			var n *node
			return pave.Text(200, fmt.Sprint(n.next)), nil
		case "unreachable":
			unreachable()
			return pave.Text(200, "survived unreachable\n"), nil
		case "exit":
			os.Exit(7)
			return nil, nil
		case "error":
			return nil, errors.New("trap: deliberate error")
		default:
			return nil, fmt.Errorf("trap: unknown mode %q", mode)
		}
	})
}

func main() {}
