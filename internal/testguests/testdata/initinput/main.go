// Command initinput reads its standard input during initialisation, which
// the host fills from the module's pave.init custom section, and answers
// every invocation with what it read then and what standard input gives
// during the invocation (which must be nothing). An input of "fail" fails
// the initialisation with a message on standard error.
package main

import (
	"fmt"
	"io"
	"os"

	pave "github.com/pave-dev/pave/sdk"
)

var input []byte

func init() {
	input, _ = io.ReadAll(os.Stdin)
	if string(input) == "fail" {
		fmt.Fprintln(os.Stderr, "initinput: told to fail\x1b[31m")
		os.Exit(3)
	}
	pave.Handle(func(*pave.Request) (*pave.Response, error) {
		during, _ := io.ReadAll(os.Stdin)
		return pave.Text(200, fmt.Sprintf("init=%s handle=%s", input, during)), nil
	})
}

func main() {}
