// Command capabilities is a test guest that uses the SDK's secrets, kv and
// httpc packages as the request asks, so that host tests can drive every
// capability call, and check what happens to secret values that end up in
// responses, log lines, errors and panics.
//
// Routes (all parameters are query parameters):
//
//	GET    /secret?name=X          {"value": "<the secret>"}
//	GET    /secret/log?name=X      logs "secret X is <value>" at info level; body "logged"
//	GET    /secret/error?name=X    the handler fails with an error containing the value (502)
//	GET    /secret/panic?name=X    the handler panics with a message containing the value (502)
//	GET    /kv/get?bucket=B&key=K  {"value": "<value>", "revision": N}
//	POST   /kv/put?bucket=B&key=K  body is the value; {"revision": N}
//	POST   /kv/cas?bucket=B&key=K&rev=N
//	                               body is the value; rev 0 creates; {"revision": N}
//	GET    /kv/list?bucket=B&prefix=P
//	                               {"keys": ["k1", ...]}
//	DELETE /kv/del?bucket=B&key=K  {"deleted": true}
//	GET    /http?url=U             fetches U; {"status": N, "body": "<the first 1 KiB>"}
//	POST   /http?url=U             posts the request body, with its Content-Type,
//	                               to U; answers as GET /http
//	GET    /init                   {"secret": CODE}: how the read of GUEST_SECRET the
//	                               package initialisation tried ended ("" if it
//	                               read a value, which it must not)
//
// A failed capability call answers 200 with {"error": CODE, "message": the
// host's reason}, where CODE is invalid, denied, not_found, conflict, limit
// or unavailable. A missing route answers 404 and a malformed rev 400.
//
// The routes also answer under any path prefix, so that a second copy can
// be deployed beside the first.
//
// pave.yaml grants the secret GUEST_SECRET, the bucket notes for writing,
// the bucket prices for reading and the host api.example.test; every other
// name is denied. Tests of outbound HTTP deploy the guest with their own
// grants.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/httpc"
	"github.com/pave-dev/pave/sdk/kv"
	"github.com/pave-dev/pave/sdk/secrets"
)

// codes names the error of a capability call, by the sentinels of the
// SDK's capability packages.
var codes = []struct {
	name string
	errs []error
}{
	{"invalid", []error{secrets.ErrInvalid, kv.ErrInvalid, httpc.ErrInvalid}},
	{"denied", []error{secrets.ErrDenied, kv.ErrDenied, httpc.ErrDenied}},
	{"not_found", []error{secrets.ErrNotFound, kv.ErrNotFound}},
	{"conflict", []error{kv.ErrConflict}},
	{"limit", []error{secrets.ErrLimit, kv.ErrLimit, httpc.ErrLimit}},
	{"unavailable", []error{secrets.ErrUnavailable, kv.ErrUnavailable, httpc.ErrUnavailable}},
}

// failure is the response to a failed capability call.
func failure(err error) *pave.Response {
	return pave.JSON(200, map[string]any{"error": failureCode(err), "message": err.Error()})
}

// failureCode names err by the SDK's sentinels.
func failureCode(err error) string {
	code := "unknown"
	for _, c := range codes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				code = c.name
			}
		}
	}
	return code
}

// initRead is how reading a granted secret during package initialisation
// ended: initialisation runs outside any invocation, at deploy for a
// snapshot, and must not be able to use a capability.
var initRead = func() string {
	v, err := secrets.Get("GUEST_SECRET")
	if err != nil {
		return failureCode(err)
	}
	return "read " + strconv.Itoa(len(v)) + " bytes"
}()

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/init") {
			return pave.JSON(200, map[string]any{"secret": initRead}), nil
		}
		q := r.Query()
		// A copy deployed under a path prefix (/rival/kv/get) answers as
		// the original does.
		path := r.Path
		for _, root := range []string{"/secret", "/kv/", "/http"} {
			if i := strings.Index(path, root); i > 0 {
				path = path[i:]
			}
		}
		route := r.Method + " " + path
		switch route {
		case "GET /secret", "GET /secret/log", "GET /secret/error", "GET /secret/panic":
			name := q.Get("name")
			v, err := secrets.Get(name)
			if err != nil {
				return failure(err), nil
			}
			switch route {
			case "GET /secret/log":
				pave.Infof("secret %s is %s", name, v)
				return pave.Text(200, "logged"), nil
			case "GET /secret/error":
				return nil, fmt.Errorf("secret %s is %s", name, v)
			case "GET /secret/panic":
				panic("secret " + name + " is " + v)
			}
			return pave.JSON(200, map[string]any{"value": v}), nil
		case "GET /http", "POST /http":
			var resp *httpc.Response
			var err error
			if r.Method == "GET" {
				resp, err = httpc.Get(q.Get("url"))
			} else {
				resp, err = httpc.Post(q.Get("url"), r.Header.Get("Content-Type"), r.Body)
			}
			if err != nil {
				return failure(err), nil
			}
			body := resp.Body
			if len(body) > 1024 {
				body = body[:1024]
			}
			return pave.JSON(200, map[string]any{"status": resp.Status, "body": string(body)}), nil
		}

		b := kv.Open(q.Get("bucket"))
		key := q.Get("key")
		switch route {
		case "GET /kv/get":
			v, rev, err := b.Get(key)
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"value": string(v), "revision": rev}), nil
		case "POST /kv/put":
			rev, err := b.Put(key, r.Body)
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"revision": rev}), nil
		case "POST /kv/cas":
			want, err := strconv.ParseUint(q.Get("rev"), 10, 64)
			if err != nil {
				return pave.JSON(400, map[string]any{"error": "bad_rev"}), nil
			}
			rev, err := b.CAS(key, r.Body, want)
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"revision": rev}), nil
		case "GET /kv/list":
			keys, err := b.List(q.Get("prefix"))
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"keys": keys}), nil
		case "DELETE /kv/del":
			if err := b.Delete(key); err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"deleted": true}), nil
		}
		return pave.JSON(404, map[string]any{"error": "no_route"}), nil
	})
}

func main() {}
