// Command memscan is a test guest that hunts for other invocations' data.
// Each invocation brings a secret (?s=<32 hex digits>). The handler first
// scans the whole of its linear memory for any secret framed as
// "SECRET-<32 hex>-END" other than its own and reports every one it finds;
// then it spreads its own secret through a package variable, a map, a large
// retained heap buffer and garbage, so that a platform that leaks any state
// between invocations is caught by a later one.
package main

import (
	"bytes"
	"strings"

	pave "github.com/pave-dev/pave/sdk"
)

var (
	kept   [][]byte
	last   string
	byName = map[string]string{}
)

func frame(secret string) []byte {
	// Built at run time so that the binary itself holds no framed secret.
	return []byte(strings.Join([]string{"SECRET", secret, "END"}, "-"))
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// foreign returns every framed secret in mem other than own.
func foreign(mem []byte, own string) []string {
	var found []string
	prefix := []byte("SECRET" + "-")
	for i := 0; ; {
		j := bytes.Index(mem[i:], prefix)
		if j < 0 {
			return found
		}
		at := i + j + len(prefix)
		i = at
		if at+32+4 > len(mem) || !isHex(mem[at:at+32]) || string(mem[at+32:at+36]) != "-END" {
			continue
		}
		if s := string(mem[at : at+32]); s != own {
			found = append(found, s)
		}
	}
}

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		own := r.Query().Get("s")
		if len(own) != 32 || !isHex([]byte(own)) {
			return pave.Text(400, "s must be 32 lower-case hex digits\n"), nil
		}
		leaked := foreign(linearMemory(), own)
		report := map[string]any{"leaked": leaked, "previous": last, "map_entries": len(byName), "kept": len(kept)}

		f := frame(own)
		last = own
		byName[own] = string(f)
		kept = append(kept, bytes.Repeat(f, 4096))
		for i := 0; i < 64; i++ {
			_ = append([]byte(nil), bytes.Repeat(f, 64)...) // garbage
		}
		return pave.JSON(200, report), nil
	})
}

func main() {}
