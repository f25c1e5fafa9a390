package kv_test

import (
	"errors"
	"strconv"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/kv"
)

// A counter that concurrent invocations increment without losing updates:
// read the value and its revision, write only if the revision is unchanged,
// and read again when another invocation got there first.
func ExampleBucket_CAS() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		b := kv.Open("counters")
		for range 10 {
			v, rev, err := b.Get("visits")
			n := 0
			switch {
			case errors.Is(err, kv.ErrNotFound):
				rev = 0 // CAS with revision 0 creates the key
			case err != nil:
				return nil, err
			default:
				n, _ = strconv.Atoi(string(v))
			}
			_, err = b.CAS("visits", []byte(strconv.Itoa(n+1)), rev)
			if errors.Is(err, kv.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return pave.JSON(200, map[string]int{"visits": n + 1}), nil
		}
		return pave.Text(503, "busy, try again\n"), nil
	})
}

func ExampleBucket_List() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		keys, err := kv.Open("orders").List("2025/")
		if err != nil {
			return nil, err
		}
		return pave.JSON(200, map[string][]string{"orders": keys}), nil
	})
}
