package httpc

import (
	"slices"
	"strings"

	"github.com/pave-dev/pave/abi"
)

// Header is an ordered list of HTTP header fields, like the SDK's
// pave.Header, so that each converts to the other: httpc.Header(r.Header)
// forwards an invocation's fields. Methods match names case-insensitively;
// names are kept as written. The zero value is an empty header, ready to
// use.
type Header []abi.Header

// Get returns the value of the first field named name, or "" if there is
// none.
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of all fields named name, in order, or nil if
// there are none.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	*h = append(*h, abi.Header{Name: name, Value: value})
}

// Set replaces all fields named name with a single field, which takes the
// place of the first of them, or is appended if there was none.
func (h *Header) Set(name, value string) {
	i := slices.IndexFunc(*h, nameIs(name))
	if i < 0 {
		h.Add(name, value)
		return
	}
	(*h)[i] = abi.Header{Name: name, Value: value}
	rest := slices.DeleteFunc((*h)[i+1:], nameIs(name))
	*h = (*h)[:i+1+len(rest)]
}

// Del removes all fields named name.
func (h *Header) Del(name string) {
	*h = slices.DeleteFunc(*h, nameIs(name))
}

func nameIs(name string) func(abi.Header) bool {
	return func(f abi.Header) bool { return strings.EqualFold(f.Name, name) }
}
