// Command slow is a test guest that sleeps ?ms= milliseconds (default 200)
// before answering "done".
package main

import (
	"strconv"
	"time"

	pave "github.com/pave-dev/pave/sdk"
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		ms := 200
		if s := r.Query().Get("ms"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return pave.Text(400, "ms must be a non-negative integer\n"), nil
			}
			ms = n
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return pave.Text(200, "done\n"), nil
	})
}

func main() {}
