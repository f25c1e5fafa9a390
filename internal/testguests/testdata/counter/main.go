// Command counter is a test guest that shows whether module state leaks
// from one invocation to the next. Every invocation increments a counter,
// grows a buffer by 1 KiB and swaps a stored secret for ?secret=; on a fresh
// instance the answer is always count 1, buffer_len 1024 and an empty
// previous_secret.
package main

import pave "github.com/pave-dev/pave/sdk"

var (
	count  int
	buffer []byte
	secret string
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		count++
		buffer = append(buffer, make([]byte, 1024)...)
		previous := secret
		secret = r.Query().Get("secret")
		return pave.JSON(200, map[string]any{
			"count":           count,
			"buffer_len":      len(buffer),
			"previous_secret": previous,
			"secret":          secret,
		}), nil
	})
}

func main() {}
