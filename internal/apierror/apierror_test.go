package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestWriteSanitizes(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   Code
		msg    string
	}{
		{"catalogued", New(Forbidden, "not for you"), 403, Forbidden, "not for you"},
		{"cause hidden", Wrap(errors.New("open /var/secret.key: permission denied"), FunctionFailed, "the function failed"), 502, FunctionFailed, "the function failed"},
		{"unknown error", errors.New("goroutine 7 [running]: main.go:12"), 500, Internal, "internal error"},
		{"wrapped catalogued", errors.Join(errors.New("context"), New(BodyTooLarge, "too big")), 413, BodyTooLarge, "too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Write(w, From(tt.err), "req-1")
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			var b Body
			dec := json.NewDecoder(w.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&b); err != nil {
				t.Fatal(err)
			}
			if b.Error.Code != tt.code || b.Error.Message != tt.msg || b.Error.RequestID != "req-1" {
				t.Errorf("body %+v", b)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, &Error{Code: ConcurrencyLimited, Message: "busy", RetryAfter: 2}, "r")
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}

// Every Code constant declared in this package is in the catalogue with a
// status, read from the source so that a code added without a status
// cannot pass.
func TestEveryCodeHasAStatus(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "apierror.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for i, name := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				code := Code(strings.Trim(lit.Value, `"`))
				declared++
				if !slices.Contains(Codes(), code) {
					t.Errorf("%s (%q) has no status", name.Name, code)
				}
			}
		}
	}
	if declared != len(Codes()) || declared < 30 {
		t.Errorf("%d codes declared, %d in the catalogue", declared, len(Codes()))
	}
	for _, code := range Codes() {
		if s := code.Status(); s < 400 || s > 599 {
			t.Errorf("%s maps to %d", code, s)
		}
		if strings.ToLower(string(code)) != string(code) || strings.Contains(string(code), " ") {
			t.Errorf("code %q is not a stable snake_case name", code)
		}
	}
	if Code("nope").Status() != 500 {
		t.Error("unknown code is not 500")
	}
}

// The table of errors in docs/OPERATIONS.md lists every code with its
// status, and nothing else.
func TestErrorTableMatchesTheCatalogue(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]{3}) \\|")
	documented := map[Code]int{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		status, _ := strconv.Atoi(m[2])
		if _, dup := documented[Code(m[1])]; dup {
			t.Errorf("%s is documented twice", m[1])
		}
		documented[Code(m[1])] = status
	}
	for _, code := range Codes() {
		status, ok := documented[code]
		switch {
		case !ok:
			t.Errorf("%s is not in docs/OPERATIONS.md's table of errors", code)
		case status != code.Status():
			t.Errorf("%s is documented as %d, its status is %d", code, status, code.Status())
		}
	}
	for code := range documented {
		if !slices.Contains(Codes(), code) {
			t.Errorf("docs/OPERATIONS.md documents %s, which is not a code", code)
		}
	}
}

func ExampleWrap() {
	err := Wrap(errors.New("dial tcp 10.0.0.7:4222: refused"), Unavailable, "the function cannot be loaded right now")
	e := From(err)
	// The client sees the code and the message; the cause is for the log.
	fmt.Println(e.Code, e.Code.Status(), e.Message)
	// Output: unavailable 503 the function cannot be loaded right now
}

// outageErr is an error of an unreachable dependency, as package store
// reports one.
type outageErr struct{ down bool }

func (e outageErr) Error() string     { return "store unavailable" }
func (e outageErr) Unavailable() bool { return e.down }

func TestFromAnswersOutagesAsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		code  Code
		retry int
	}{
		{"outage", outageErr{true}, Unavailable, 1},
		{"wrapped outage", fmt.Errorf("listing secrets: %w", outageErr{true}), Unavailable, 1},
		{"not an outage", outageErr{false}, Internal, 0},
		{"anything else", errors.New("boom"), Internal, 0},
		{"an Error wins", Wrap(outageErr{true}, Conflict, "x"), Conflict, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := From(tc.err)
			if e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("From(%v) = %s retry %d, want %s retry %d", tc.err, e.Code, e.RetryAfter, tc.code, tc.retry)
			}
			if strings.Contains(e.Message, "store unavailable") && e.Code == Internal {
				t.Errorf("message leaks the cause: %q", e.Message)
			}
		})
	}
}
