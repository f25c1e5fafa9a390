// Command hello is the smallest useful pave function: GET /hello answers
// "Hello, world!", or greets the name given as ?name=.
//
// Build it as a WASI reactor module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm .
package main

import (
	"strings"
	"unicode"

	pave "github.com/pave-dev/pave/sdk"
)

// maxNameRunes is the longest name greeted; longer names are cut short.
const maxNameRunes = 64

func init() {
	pave.Handle(hello)
}

func hello(r *pave.Request) (*pave.Response, error) {
	name := cleanName(r.Query().Get("name"))
	if name == "" {
		name = "world"
	}
	return pave.Text(200, "Hello, "+name+"!\n"), nil
}

// cleanName makes a caller-supplied name safe to echo: it drops control
// characters, replaces invalid UTF-8, trims surrounding space and keeps at
// most maxNameRunes runes.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsControl(r) {
			b.WriteRune(r)
		}
	}
	name := strings.TrimSpace(b.String())
	n := 0
	for i := range name {
		if n == maxNameRunes {
			return strings.TrimSpace(name[:i])
		}
		n++
	}
	return name
}

func main() {}
