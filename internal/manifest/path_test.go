package manifest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	lit := func(s string) Segment { return Segment{Literal: s} }
	param := func(s string) Segment { return Segment{Param: s} }
	rest := func(s string) Segment { return Segment{Param: s, CatchAll: true} }
	long := "/" + strings.Repeat("a", MaxPathLength-1)

	tests := []struct {
		path    string
		want    []Segment
		wantErr string
	}{
		{path: "/", want: nil},
		{path: "/hello", want: []Segment{lit("hello")}},
		{path: "/a.b/~c_d-E9", want: []Segment{lit("a.b"), lit("~c_d-E9")}},
		{path: "/...", want: []Segment{lit("...")}},
		{path: "/.well-known/x", want: []Segment{lit(".well-known"), lit("x")}},
		{path: "/users/{id}", want: []Segment{lit("users"), param("id")}},
		{path: "/{a}/{b}/{_c9}", want: []Segment{param("a"), param("b"), param("_c9")}},
		{path: "/files/{path...}", want: []Segment{lit("files"), rest("path")}},
		{path: "/{all...}", want: []Segment{rest("all")}},
		{path: "/{" + strings.Repeat("p", 64) + "}", want: []Segment{param(strings.Repeat("p", 64))}},
		{path: long, want: []Segment{lit(long[1:])}},
		{path: "/_pave/x", want: []Segment{lit("_pave"), lit("x")}}, // reserved, but well-formed

		{path: "", wantErr: "path is empty"},
		{path: "hello", wantErr: `path "hello" must start with "/"`},
		{path: long + "a", wantErr: "path is 513 bytes long; the maximum is 512"},
		{path: "//", wantErr: `path "//": empty segment ("//") is not allowed`},
		{path: "/a//b", wantErr: `path "/a//b": empty segment ("//") is not allowed`},
		{path: "/a/", wantErr: `path "/a/": trailing "/" is not allowed`},
		{path: "/.", wantErr: `path "/.": segment "." is not allowed`},
		{path: "/a/../b", wantErr: `path "/a/../b": segment ".." is not allowed`},
		{path: "/a b", wantErr: `path "/a b": segment "a b": character ' ' is not allowed; use letters, digits, '.', '_', '~' or '-'`},
		{path: "/a?b", wantErr: `character '?' is not allowed`},
		{path: "/a%2F", wantErr: `character '%' is not allowed`},
		{path: "/caf\u00e9", wantErr: `character 'é' is not allowed`},
		{path: "/a\x00", wantErr: `character '\x00' is not allowed`},
		{path: "/{}", wantErr: `path "/{}": segment "{}": a parameter name must be a letter or '_' followed by at most 63 letters, digits or '_'`},
		{path: "/{...}", wantErr: `segment "{...}": a parameter name must be`},
		{path: "/{9a}", wantErr: `segment "{9a}": a parameter name must be`},
		{path: "/{a-b}", wantErr: `segment "{a-b}": a parameter name must be`},
		{path: "/{a.b}", wantErr: `segment "{a.b}": a parameter name must be`},
		{path: "/{" + strings.Repeat("p", 65) + "}", wantErr: "a parameter name must be"},
		{path: "/{{a}}", wantErr: `segment "{{a}}": a parameter name must be`},
		{path: "/{a", wantErr: `path "/{a": segment "{a": a parameter must be a whole segment, written {name}`},
		{path: "/a}", wantErr: `segment "a}": a parameter must be a whole segment`},
		{path: "/x{a}", wantErr: `segment "x{a}": a parameter must be a whole segment`},
		{path: "/{a}x", wantErr: `segment "{a}x": a parameter must be a whole segment`},
		{path: "/{", wantErr: `segment "{": a parameter must be a whole segment`},
		{path: "/}", wantErr: `segment "}": a parameter must be a whole segment`},
		{path: "/{a}/{a}", wantErr: `path "/{a}/{a}": parameter "a" appears twice`},
		{path: "/{a}/{a...}", wantErr: `parameter "a" appears twice`},
		{path: "/{a...}/b", wantErr: `path "/{a...}/b": segment "{a...}": a catch-all parameter must be the last segment`},
		{path: "/{a...}/{b...}", wantErr: "a catch-all parameter must be the last segment"},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.path)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePath(%q) error = %v, want one containing %q", tt.path, err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("ParsePath(%q) = %v along with an error", tt.path, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.path, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePath(%q) = %#v, want %#v", tt.path, got, tt.want)
		}
		if joined := joinSegments(got); joined != tt.path {
			t.Errorf("segments of %q join back to %q", tt.path, joined)
		}
	}
}

// joinSegments rebuilds the path that ParsePath split into segs.
func joinSegments(segs []Segment) string {
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteString("/" + s.String())
	}
	return b.String()
}

func TestSegmentString(t *testing.T) {
	tests := []struct {
		s    Segment
		want string
	}{
		{Segment{Literal: "users"}, "users"},
		{Segment{Param: "id"}, "{id}"},
		{Segment{Param: "rest", CatchAll: true}, "{rest...}"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}
