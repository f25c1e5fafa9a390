package gateway

import (
	"slices"
	"strings"
	"testing"

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
// satisfies the route: literal segments equal, one value per parameter.
func FuzzRouter(f *testing.F) {
	for _, s := range []string{"/", "/users/1", "/files/a/b", "/users/%2e%2e", "//", "/users/1/posts/2/", "/\x00"} {
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
			if s.Literal != "" && (i >= len(parts) || parts[i] != s.Literal) {
				t.Fatalf("%q matched %q but segment %d differs", path, got.Route.Path, i)
			}
		}
	})
}
