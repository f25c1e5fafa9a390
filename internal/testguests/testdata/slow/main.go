// Command slow is a test guest that sleeps ?ms= milliseconds (default 200)
// before answering "done", or with ?spin=N busy-loops N iterations instead.
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
		if s := r.Query().Get("spin"); s != "" {
			// Busy work instead of sleeping, for measuring the cost of
			// deadline checks in loops.
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return pave.Text(400, "spin must be a non-negative integer\n"), nil
			}
			h := uint64(14695981039346656037)
			for i := 0; i < n; i++ {
				h = (h ^ uint64(i)) * 1099511628211
			}
			return pave.Text(200, "done "+strconv.FormatUint(h%10, 10)+"\n"), nil
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return pave.Text(200, "done\n"), nil
	})
}

func main() {}
