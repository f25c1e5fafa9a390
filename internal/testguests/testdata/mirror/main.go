// Command mirror is a test guest that answers every request with what it
// received, as JSON: {"path", "route", "params": [[name, value]...],
// "raw_query", "query": <the SDK's Query()>}, so that host tests can check
// what reaches a function.
package main

import (
	pave "github.com/pave-dev/pave/sdk"
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		params := make([][2]string, 0, len(r.Params))
		for _, p := range r.Params {
			params = append(params, [2]string{p.Name, p.Value})
		}
		return pave.JSON(200, map[string]any{
			"path":      r.Path,
			"route":     r.Route,
			"params":    params,
			"raw_query": r.RawQuery,
			"query":     r.Query(),
		}), nil
	})
}

func main() {}
