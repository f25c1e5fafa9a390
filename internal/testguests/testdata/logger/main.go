// Command logger is a test guest that writes a log line for each call,
// "hello NAME" with the query's name, and answers "logged".
package main

import (
	pave "github.com/pave-dev/pave/sdk"
)

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		pave.Infof("hello %s", r.Query().Get("name"))
		return pave.Text(200, "logged\n"), nil
	})
}

func main() {}
