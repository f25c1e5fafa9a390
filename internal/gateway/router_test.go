package gateway

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
)

func testRouter(t testing.TB) *router {
	r := &router{}
	for _, rt := range []struct{ fn, method, path string }{
		{"root", "GET", "/"},
		{"users", "GET", "/users"},
		{"user", "GET", "/users/{id}"},
		{"me", "GET", "/users/me"},
		{"user-post", "POST", "/users/{id}"},
		{"posts", "GET", "/users/{id}/posts/{post}"},
		{"files", "GET", "/files/{rest...}"},
		{"readme", "GET", "/files/README"},
	} {
		if err := r.add(&target{Function: rt.fn, Route: manifest.Route{Method: rt.method, Path: rt.path}}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestRouterMatch(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		method, path string
		fn           string // "" when no match
		methodOK     bool
		found        bool
		params       []abi.Param
	}{
		{"GET", "/", "root", true, true, nil},
		{"GET", "/users", "users", true, true, nil},
		{"GET", "/users/me", "me", true, true, nil},
		{"GET", "/users/42", "user", true, true, []abi.Param{{Name: "id", Value: "42"}}},
		{"GET", "/users/a%2Fb", "user", true, true, []abi.Param{{Name: "id", Value: "a/b"}}},
		{"POST", "/users/me", "user-post", true, true, []abi.Param{{Name: "id", Value: "me"}}},
		{"GET", "/users/7/posts/9", "posts", true, true, []abi.Param{{Name: "id", Value: "7"}, {Name: "post", Value: "9"}}},
		{"GET", "/files/README", "readme", true, true, nil},
		{"GET", "/files/a/b/c.txt", "files", true, true, []abi.Param{{Name: "rest", Value: "a/b/c.txt"}}},
		{"DELETE", "/users/42", "", false, true, nil},
		{"GET", "/nope", "", false, false, nil},
		{"GET", "/users/", "", false, false, nil},
		{"GET", "//users", "", false, false, nil},
		{"GET", "/users/../users", "", false, false, nil},
		{"GET", "/users/./me", "", false, false, nil},
		{"GET", "/users/%zz", "", false, false, nil},
		{"GET", "users", "", false, false, nil},
		{"GET", "/users/m%65", "me", true, true, nil},
		{"GET", "/users/%2e%2e", "", false, false, nil},
		{"GET", "/files/a/../b", "", false, false, nil},
		{"GET", "/files/a//b", "", false, false, nil},
		{"GET", "/files/a/", "", false, false, nil},
		{"GET", "/files/a/%2e/b", "", false, false, nil},
		{"GET", "", "", false, false, nil},
		// Encoded slashes must not smuggle dot or empty segments into a
		// parameter.
		{"GET", "/files/..%2fprivate", "", false, false, nil},
		{"GET", "/files/a%2f..%2f..%2fadmin", "", false, false, nil},
		{"GET", "/files/%2f%2fetc%2fpasswd", "", false, false, nil},
		{"GET", "/users/..%2f..%2fprivate", "", false, false, nil},
		{"GET", "/users/%2e%2e%2fprivate", "", false, false, nil},
		{"GET", "/users/.%2Fx", "", false, false, nil},
		{"GET", "/users/x%2F", "", false, false, nil},
		{"GET", "/users/x%2F.", "", false, false, nil},
		{"GET", "/files/a/b%2F%2Fc", "", false, false, nil},
		// Backslashes, control characters and invalid UTF-8.
		{"GET", "/files/..%5cprivate", "", false, false, nil},
		{"GET", "/files/a%5Cb", "", false, false, nil},
		{"GET", "/users/a\\b", "", false, false, nil},
		{"GET", "/users/1%00", "", false, false, nil},
		{"GET", "/users/1%0d%0aX:y", "", false, false, nil},
		{"GET", "/users/%7f", "", false, false, nil},
		{"GET", "/users/%ff", "", false, false, nil},
		{"GET", "/users/%c3%28", "", false, false, nil},
		// Still parameters: decoded once, and dots that are not a dot
		// segment.
		{"GET", "/files/..%252fprivate", "files", true, true, []abi.Param{{Name: "rest", Value: "..%2fprivate"}}},
		{"GET", "/files/a%2Fb/c", "files", true, true, []abi.Param{{Name: "rest", Value: "a/b/c"}}},
		{"GET", "/users/...", "user", true, true, []abi.Param{{Name: "id", Value: "..."}}},
		{"GET", "/users/..x", "user", true, true, []abi.Param{{Name: "id", Value: "..x"}}},
		{"GET", "/users/%C3%A9t%C3%A9", "user", true, true, []abi.Param{{Name: "id", Value: "été"}}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, params, found, methodOK := r.match(tt.method, tt.path)
			if found != tt.found || methodOK != tt.methodOK {
				t.Fatalf("found=%v methodOK=%v, want %v %v", found, methodOK, tt.found, tt.methodOK)
			}
			if tt.fn == "" {
				if got != nil {
					t.Fatalf("matched %s", got.Function)
				}
				return
			}
			if got == nil || got.Function != tt.fn {
				t.Fatalf("matched %v, want %s", got, tt.fn)
			}
			if !slices.Equal(params, tt.params) {
				t.Errorf("params %v, want %v", params, tt.params)
			}
		})
	}
}

// FuzzRouter checks that matching never panics and that whatever matches
// satisfies the route: literal segments equal, one value per parameter; and
// that no parameter, nor the decoded path, has an empty, "." or ".."
// segment, a control character, a backslash or invalid UTF-8.
func FuzzRouter(f *testing.F) {
	for _, s := range []string{"/", "/users/1", "/files/a/b", "/users/%2e%2e", "//", "/users/1/posts/2/", "/\x00",
		"/files/..%2fprivate", "/files/a%2f..%2f..%2fadmin", "/files/%2f%2fetc%2fpasswd", "/users/..%2f..%2fprivate",
		"/files/..%5cx", "/users/%00", "/users/%ff", "/files/..%252f"} {
		f.Add("GET", s)
	}
	r := testRouter(f)
	f.Fuzz(func(t *testing.T, method, path string) {
		got, params, found, methodOK := r.match(method, path)
		if got == nil {
			if methodOK {
				t.Fatal("methodOK without a target")
			}
			return
		}
		if !found || !methodOK || got.Route.Method != method {
			t.Fatalf("inconsistent match %+v found=%v methodOK=%v", got, found, methodOK)
		}
		segs, _ := manifest.ParsePath(got.Route.Path)
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if path == "/" {
			parts = nil
		}
		if len(params) != len(got.params) {
			t.Fatalf("%d params for %d names", len(params), len(got.params))
		}
		for i, s := range segs {
			if s.Literal == "" {
				continue
			}
			if i >= len(parts) {
				t.Fatalf("%q matched %q but has no segment %d", path, got.Route.Path, i)
			}
			if part, err := url.PathUnescape(parts[i]); err != nil || part != s.Literal {
				t.Fatalf("%q matched %q but segment %d differs", path, got.Route.Path, i)
			}
		}
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("%q matched but does not decode: %v", path, err)
		}
		values := []string{strings.TrimPrefix(decoded, "/")}
		for _, p := range params {
			values = append(values, p.Value)
		}
		for i, v := range values {
			if v == "" && i == 0 && decoded == "/" {
				continue
			}
			if !utf8.ValidString(v) || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
				t.Fatalf("%q gives %q, with invalid UTF-8, a control character or a backslash", path, v)
			}
			for seg := range strings.SplitSeq(v, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("%q gives %q, with an empty, . or .. segment", path, v)
				}
			}
		}
	})
}
