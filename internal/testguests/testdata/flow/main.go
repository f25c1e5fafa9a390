// Command flow is a test guest that calls other functions with sdk/invoke
// and publishes events with sdk/events, as the request asks, so that host
// tests can drive the invoke and publish capabilities.
//
// Routes (parameters are query parameters):
//
//	POST /call?fn=F&path=P&query=Q
//	                         invokes F on P (default "/"), with the query Q
//	                         and the request body; {"status": N, "body":
//	                         "<the response body>"}
//	POST /publish?topic=T    publishes the request body on T; {"id": "<event id>"}
//	GET  /whoami             {"caller", "request_id", "invoked_by", "depth"}:
//	                         what the host told this invocation
//	POST /loop?fn=F          invokes F on /loop?fn=F, so a function granted
//	                         itself calls itself until the host refuses;
//	                         {"depth": D, "status": N, "inner": <the inner body>}
//	POST /fan?fn=F&n=N&levels=L
//	                         unless L is 0, invokes F on /fan?fn=F&n=N&levels=L-1
//	                         N times, one after the other: a tree of calls that
//	                         fans out N ways; {"ran": the invocations of the
//	                         tree that answered 200, this one included,
//	                         "refused": {CODE: how many calls were refused with
//	                         that error code, or host_error}}
//
// A failed capability call answers 200 with {"error": CODE, "message": the
// host's reason}, CODE being invalid, denied, not_found, limit or
// unavailable.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/events"
	"github.com/pave-dev/pave/sdk/invoke"
)

var codes = []struct {
	name string
	errs []error
}{
	{"invalid", []error{invoke.ErrInvalid, events.ErrInvalid}},
	{"denied", []error{invoke.ErrDenied, events.ErrDenied}},
	{"not_found", []error{invoke.ErrNotFound}},
	{"limit", []error{invoke.ErrLimit, events.ErrLimit}},
	{"unavailable", []error{invoke.ErrUnavailable, events.ErrUnavailable}},
}

func failure(err error) *pave.Response {
	code := "unknown"
	for _, c := range codes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				code = c.name
			}
		}
	}
	return pave.JSON(200, map[string]any{"error": code, "message": err.Error()})
}

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		q := r.Query()
		switch r.Method + " " + r.Path {
		case "POST /call":
			resp, err := invoke.Call(q.Get("fn"), &pave.Request{Method: "POST", Path: q.Get("path"), RawQuery: q.Get("query"), Body: r.Body,
				Header: pave.Header{{Name: "Content-Type", Value: "application/json"}}})
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"status": resp.Status, "body": string(resp.Body)}), nil
		case "POST /publish":
			id, err := events.Publish(q.Get("topic"), r.Body)
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"id": id}), nil
		case "GET /whoami", "POST /whoami":
			return pave.JSON(200, map[string]any{
				"caller": r.Caller, "request_id": r.RequestID,
				"invoked_by": r.Header.Get("Pave-Invoked-By"), "depth": r.Header.Get("Pave-Call-Depth"),
			}), nil
		case "POST /fan":
			return pave.JSON(200, fan(q.Get("fn"), q.Get("n"), q.Get("levels"))), nil
		case "POST /loop":
			fn := q.Get("fn")
			resp, err := invoke.Call(fn, &pave.Request{Method: "POST", Path: "/loop", RawQuery: "fn=" + url.QueryEscape(fn)})
			if err != nil {
				return failure(err), nil
			}
			return pave.JSON(200, map[string]any{"depth": r.Header.Get("Pave-Call-Depth"), "status": resp.Status, "inner": json.RawMessage(resp.Body)}), nil
		}
		return pave.JSON(404, map[string]any{"error": "no_route"}), nil
	})
}

// fanResult is the answer of POST /fan.
type fanResult struct {
	Ran     int            `json:"ran"`
	Refused map[string]int `json:"refused"`
}

func fan(fn, ways, levels string) fanResult {
	n, _ := strconv.Atoi(ways)
	l, _ := strconv.Atoi(levels)
	out := fanResult{Ran: 1, Refused: map[string]int{}}
	for i := 0; l > 0 && i < n; i++ {
		resp, err := invoke.Call(fn, &pave.Request{Method: "POST", Path: "/fan",
			RawQuery: fmt.Sprintf("fn=%s&n=%d&levels=%d", url.QueryEscape(fn), n, l-1)})
		if err != nil {
			out.Refused["host_error"]++
			continue
		}
		var inner fanResult
		if resp.Status == 200 && json.Unmarshal(resp.Body, &inner) == nil {
			out.Ran += inner.Ran
			for code, c := range inner.Refused {
				out.Refused[code] += c
			}
			continue
		}
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(resp.Body, &e)
		out.Refused[e.Error.Code]++
	}
	return out
}

func main() {}
