package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckRoutes(t *testing.T) {
	fn := func(name, file string, routes ...Route) *Manifest {
		return &Manifest{Name: name, File: file, Routes: routes}
	}
	get := func(path string, line int) Route { return Route{Method: "GET", Path: path, Line: line} }
	post := func(path string, line int) Route { return Route{Method: "POST", Path: path, Line: line} }

	tests := []struct {
		name string
		ms   []*Manifest
		want []string
	}{
		{name: "none"},
		{name: "one function", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/users/{id}", 4), post("/users/{id}", 6)),
		}},
		{name: "distinct routes", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/users/{id}", 4)),
			fn("b", "b/pave.yaml", post("/users/{id}", 4), get("/users/me", 6), get("/users/{id}/x", 8), get("/users/{rest...}", 10)),
		}},
		{name: "nil manifests skipped", ms: []*Manifest{
			nil, fn("a", "a/pave.yaml", get("/", 4)), nil,
		}},
		{name: "same path", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/hello", 4)),
			fn("b", "b/pave.yaml", get("/hello", 7)),
		}, want: []string{
			`b/pave.yaml:7: routes[0]: GET /hello of function "b" collides with GET /hello of function "a" (a/pave.yaml:4)`,
		}},
		{name: "parameters differently named", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/users/{id}", 4), get("/files/{path...}", 6)),
			fn("b", "b/pave.yaml", post("/x", 4), get("/files/{p...}", 6), get("/users/{uid}", 8)),
		}, want: []string{
			`b/pave.yaml:6: routes[1]: GET /files/{p...} of function "b" collides with GET /files/{path...} of function "a" (a/pave.yaml:6)`,
			`b/pave.yaml:8: routes[2]: GET /users/{uid} of function "b" collides with GET /users/{id} of function "a" (a/pave.yaml:4)`,
		}},
		{name: "three ways", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/", 4)),
			fn("b", "b/pave.yaml", get("/", 5)),
			fn("c", "c/pave.yaml", get("/", 6)),
		}, want: []string{
			`b/pave.yaml:5: routes[0]: GET / of function "b" collides with GET / of function "a" (a/pave.yaml:4)`,
			`c/pave.yaml:6: routes[0]: GET / of function "c" collides with GET / of function "a" (a/pave.yaml:4)`,
		}},
		{name: "within one manifest", ms: []*Manifest{
			fn("a", "a/pave.yaml", get("/x/{a}", 4), get("/x/{b}", 6)),
		}, want: []string{
			`a/pave.yaml:6: routes[1]: GET /x/{b} of function "a" collides with GET /x/{a} of function "a" (a/pave.yaml:4)`,
		}},
		{name: "built without files", ms: []*Manifest{
			fn("a", "", get("/x", 0)),
			fn("b", "", get("/x", 0)),
		}, want: []string{
			`routes[0]: GET /x of function "b" collides with GET /x of function "a"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRoutes(tt.ms)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckRoutes: %v", err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("CheckRoutes error = %v (%T), want an ErrorList", err, err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("CheckRoutes error =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCheckRoutesParsed(t *testing.T) {
	a, err := Parse("a/pave.yaml", []byte("name: a\nowner: web\nroutes:\n  - method: get\n    path: /users/{id}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b/pave.yaml", []byte("name: b\nowner: web\nroutes:\n  - method: POST\n    path: /users\n  - method: GET\n    path: /users/{name}\n    public: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckRoutes([]*Manifest{a, b})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("CheckRoutes error = %v, want an *Error", err)
	}
	want := `b/pave.yaml:6: routes[1]: GET /users/{name} of function "b" collides with GET /users/{id} of function "a" (a/pave.yaml:4)`
	if e.Error() != want {
		t.Errorf("CheckRoutes error = %q, want %q", e.Error(), want)
	}
}
