// Command grants is the function pave bench calls to measure a function
// that uses its grants: every call reads the secret BENCH_UPSTREAM_URL,
// sends a GET request to that URL through the http capability, reads the
// key "last" of the key-value bucket bench (or, with ?write=1, stores the
// upstream's answer there), and answers "Hello, " followed by the
// upstream's answer and "!\n". Any failure is an error, which the gateway
// answers with a status other than 200.
//
// Reads and writes are separate targets because a write is bounded by
// something else: the embedded store syncs every write to disk, so writes
// to one bucket go at the disk's sync rate whatever the function does.
//
// pave bench builds it as a WASI reactor module and deploys it with a
// manifest of its own that grants the loopback upstream it starts.
package main

import (
	"errors"
	"fmt"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/httpc"
	"github.com/pave-dev/pave/sdk/kv"
	"github.com/pave-dev/pave/sdk/secrets"
)

var bucket = kv.Open("bench")

func init() {
	pave.Handle(serve)
}

func serve(req *pave.Request) (*pave.Response, error) {
	url, err := secrets.Get("BENCH_UPSTREAM_URL")
	if err != nil {
		return nil, err
	}
	resp, err := httpc.Get(url)
	if err != nil {
		return nil, err
	}
	if resp.Status != 200 {
		return nil, fmt.Errorf("the upstream answered %d", resp.Status)
	}
	if req.Query().Get("write") == "1" {
		if _, err := bucket.Put("last", resp.Body); err != nil {
			return nil, err
		}
	} else if _, _, err := bucket.Get("last"); err != nil && !errors.Is(err, kv.ErrNotFound) {
		return nil, err
	}
	return pave.Text(200, "Hello, "+string(resp.Body)+"!\n"), nil
}

func main() {}
