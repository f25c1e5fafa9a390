package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// head is the start of a valid manifest; a test case that appends to it
// begins on line 3.
const head = "name: hello\nowner: team-web\n"

// wantErr is one expected error: its line, field path and exact message.
type wantErr struct {
	line  int
	field string
	msg   string
}

func (w wantErr) String() string {
	return fmt.Sprintf("line %d, field %q: %s", w.line, w.field, w.msg)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		// The document as a whole.
		{"empty", "", []wantErr{{0, "", "manifest is empty"}}},
		{"only comments", "# nothing here\n", []wantErr{{0, "", "manifest is empty"}}},
		{"only document marker", "---\n", []wantErr{{0, "", "manifest is empty"}}},
		{"too large", head + strings.Repeat("#", MaxFileSize), []wantErr{
			{0, "", "manifest is larger than the limit of 256KiB"},
		}},
		{"two documents", head + "---\n" + head, []wantErr{
			{3, "", "a manifest must be a single YAML document, but another one starts here"},
		}},
		{"trailing empty document", head + "---\n", []wantErr{
			{3, "", "a manifest must be a single YAML document, but another one starts here"},
		}},
		{"syntax error", head + "description: @hi\n", []wantErr{
			{3, "", "invalid YAML: found character that cannot start any token"},
		}},
		{"syntax error in second document", head + "---\nname: [\n", []wantErr{
			{4, "", "invalid YAML: did not find expected node content"},
		}},
		{"tab indentation", head + "limits:\n\ttimeout: 1s\n", []wantErr{
			{4, "", "invalid YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs)"},
		}},
		{"list at top level", "- name: hello\n", []wantErr{
			{1, "", "expected a mapping, found a list"},
		}},
		{"string at top level", "hello\n", []wantErr{
			{1, "", `expected a mapping, found string "hello"`},
		}},
		{"missing required fields", "description: hi\n", []wantErr{
			{1, "", `missing required field "name"`},
			{1, "", `missing required field "owner"`},
		}},

		// Keys.
		{"unknown top-level field", head + "colour: red\n", []wantErr{
			{3, "", `unknown field "colour"`},
		}},
		{"unknown top-level field with suggestion", head + "rout: []\n", []wantErr{
			{3, "", `unknown field "rout"; did you mean "routes"?`},
		}},
		{"unknown field differing in case", "Name: hello\nowner: team-web\n", []wantErr{
			{1, "", `unknown field "Name"; did you mean "name"?`},
			{1, "", `missing required field "name"`},
		}},
		{"unknown limits field", head + "limits:\n  timout: 1s\n", []wantErr{
			{4, "limits", `unknown field "timout"; did you mean "timeout"?`},
		}},
		{"unknown route field", head + "routes:\n  - method: GET\n    path: /a\n    publc: true\n", []wantErr{
			{6, "routes[0]", `unknown field "publc"; did you mean "public"?`},
		}},
		{"duplicate top-level field", head + "name: again\n", []wantErr{
			{3, "", `duplicate field "name"; it is already set on line 1`},
		}},
		{"duplicate limits field", head + "limits:\n  memory: 1MiB\n  memory: 2MiB\n", []wantErr{
			{5, "limits", `duplicate field "memory"; it is already set on line 4`},
		}},
		{"non-string key", head + "1: one\n", []wantErr{
			{3, "", "field names must be strings, found integer 1"},
		}},
		{"null key", head + "~: nothing\n", []wantErr{
			{3, "", "field names must be strings, found null"},
		}},

		// References.
		{"anchor and alias", "name: &n hello\nowner: *n\n", []wantErr{
			{1, "name", "anchors (&n) are not allowed"},
			{2, "owner", "aliases (*n) are not allowed; write the value out"},
		}},
		{"anchor on a mapping", head + "limits: &l\n  timeout: 1s\n", []wantErr{
			{3, "limits", "anchors (&l) are not allowed"},
		}},
		{"anchor on a key", head + "&k description: hi\n", []wantErr{
			{3, "", "anchors (&k) are not allowed"},
		}},
		{"merge key", head + "limits:\n  <<: {timeout: 1s}\n", []wantErr{
			{4, "limits", "merge keys (<<) are not allowed; write each field out"},
		}},

		// Types.
		{"name is an integer", "name: 123\nowner: team-web\n", []wantErr{
			{1, "name", "expected a string, found integer 123"},
		}},
		{"name is null", "name:\nowner: team-web\n", []wantErr{
			{1, "name", "expected a string, found null"},
		}},
		{"name is a timestamp", "name: 2024-01-02\nowner: team-web\n", []wantErr{
			{1, "name", `expected a string, found timestamp "2024-01-02"`},
		}},
		{"name has a custom tag", "name: !fn hello\nowner: team-web\n", []wantErr{
			{1, "name", `expected a string, found !fn "hello"`},
		}},
		{"owner is a list", "name: hello\nowner: [a, b]\n", []wantErr{
			{2, "owner", "expected a string, found a list"},
		}},
		{"description is a mapping", head + "description: {a: b}\n", []wantErr{
			{3, "description", "expected a string, found a mapping"},
		}},
		{"module is a boolean", head + "module: true\n", []wantErr{
			{3, "module", "expected a string, found boolean true"},
		}},
		{"routes is a mapping", head + "routes:\n  method: GET\n", []wantErr{
			{4, "routes", "expected a list of routes, found a mapping"},
		}},
		{"routes is null", head + "routes:\n", []wantErr{
			{3, "routes", "expected a list of routes, found null"},
		}},
		{"route is a string", head + "routes:\n  - GET /a\n", []wantErr{
			{4, "routes[0]", `expected a mapping, found string "GET /a"`},
		}},
		{"method is an integer", head + "routes:\n  - method: 1\n    path: /a\n", []wantErr{
			{4, "routes[0].method", "expected a string, found integer 1"},
		}},
		{"public is a string", head + "routes:\n  - method: GET\n    path: /a\n    public: \"true\"\n", []wantErr{
			{6, "routes[0].public", `expected a boolean, found string "true"`},
		}},
		{"public tagged boolean but not one", head + "routes:\n  - method: GET\n    path: /a\n    public: !!bool maybe\n", []wantErr{
			{6, "routes[0].public", `"maybe" is not a valid boolean`},
		}},
		{"concurrency tagged integer but not one", head + "limits:\n  concurrency: !!int lots\n", []wantErr{
			{4, "limits.concurrency", `"lots" is not a valid 64-bit integer`},
		}},
		{"memory tagged integer but not one", head + "limits:\n  memory: !!int lots\n", []wantErr{
			{4, "limits.memory", `"lots" is not a valid 64-bit integer`},
		}},
		{"public is yes", head + "routes:\n  - method: GET\n    path: /a\n    public: yes\n", []wantErr{
			{6, "routes[0].public", `expected a boolean, found string "yes"`},
		}},
		{"limits is an integer", head + "limits: 5\n", []wantErr{
			{3, "limits", "expected a mapping, found integer 5"},
		}},
		{"concurrency is a string", head + "limits:\n  concurrency: many\n", []wantErr{
			{4, "limits.concurrency", `expected an integer, found string "many"`},
		}},
		{"concurrency is a float", head + "limits:\n  concurrency: 1.5\n", []wantErr{
			{4, "limits.concurrency", "expected an integer, found float 1.5"},
		}},
		{"concurrency is a quoted integer", head + "limits:\n  concurrency: \"32\"\n", []wantErr{
			{4, "limits.concurrency", `expected an integer, found string "32"`},
		}},
		{"memory is a boolean", head + "limits:\n  memory: true\n", []wantErr{
			{4, "limits.memory", `expected a size such as "64MiB", found boolean true`},
		}},
		{"memory is a list", head + "limits:\n  memory: [1]\n", []wantErr{
			{4, "limits.memory", `expected a size such as "64MiB", found a list`},
		}},
		{"timeout is a boolean", head + "limits:\n  timeout: false\n", []wantErr{
			{4, "limits.timeout", `expected a duration such as "10s", found boolean false`},
		}},
		{"timeout is a mapping", head + "limits:\n  timeout: {s: 1}\n", []wantErr{
			{4, "limits.timeout", `expected a duration such as "10s", found a mapping`},
		}},

		// Names, owners, descriptions and modules.
		{"name with upper case", "name: Hello\nowner: team-web\n", []wantErr{
			{1, "name", `invalid name "Hello": use 1 to 63 lowercase letters, digits and '-', starting with a letter`},
		}},
		{"name starting with a digit", "name: 1hello\nowner: team-web\n", []wantErr{
			{1, "name", `invalid name "1hello": use 1 to 63 lowercase letters, digits and '-', starting with a letter`},
		}},
		{"name with underscore", "name: hello_world\nowner: team-web\n", []wantErr{
			{1, "name", `invalid name "hello_world": use 1 to 63 lowercase letters, digits and '-', starting with a letter`},
		}},
		{"name empty", "name: \"\"\nowner: team-web\n", []wantErr{
			{1, "name", `invalid name "": use 1 to 63 lowercase letters, digits and '-', starting with a letter`},
		}},
		{"name too long", "name: a" + strings.Repeat("b", 63) + "\nowner: team-web\n", []wantErr{
			{1, "name", `invalid name "a` + strings.Repeat("b", 63) + `": use 1 to 63 lowercase letters, digits and '-', starting with a letter`},
		}},
		{"owner starting with a dash", "name: hello\nowner: -web\n", []wantErr{
			{2, "owner", `invalid owner "-web": use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`},
		}},
		{"owner with a space", "name: hello\nowner: team web\n", []wantErr{
			{2, "owner", `invalid owner "team web": use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`},
		}},
		{"owner empty", "name: hello\nowner: ''\n", []wantErr{
			{2, "owner", `invalid owner "": use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`},
		}},
		{"owner too long", "name: hello\nowner: " + strings.Repeat("o", 129) + "\n", []wantErr{
			{2, "owner", `invalid owner "` + strings.Repeat("o", 64) + `"…: use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`},
		}},
		{"description too long", head + "description: " + strings.Repeat("é", 1025) + "\n", []wantErr{
			{3, "description", "description is 1025 characters long; the maximum is 1024"},
		}},
		{"module empty", head + "module: \"\"\n", []wantErr{
			{3, "module", "module is empty; leave it out to build the Go package in the manifest's directory"},
		}},
		{"module with NUL", head + "module: \"a\\0b\"\n", []wantErr{
			{3, "module", "module contains a NUL byte"},
		}},

		// Runtimes.
		{"unknown runtime", head + "runtime: python\nmain: main.js\n", []wantErr{
			{3, "runtime", `unsupported runtime "python": use one of go, js`},
		}},
		{"js without main", head + "runtime: js\n", []wantErr{
			{1, "", `missing required field "main": runtime js needs the entry point, such as main: src/index.ts`},
		}},
		{"js with module", head + "runtime: js\nmain: index.js\nmodule: fn.wasm\n", []wantErr{
			{5, "module", "a function with runtime js is built from main, not module"},
		}},
		{"main without js", head + "main: index.js\n", []wantErr{
			{3, "main", "main is the entry point of a JavaScript function; set runtime: js, or name a Go package with module"},
		}},
		{"main with go", head + "runtime: go\nmain: index.js\n", []wantErr{
			{4, "main", "main is the entry point of a JavaScript function; set runtime: js, or name a Go package with module"},
		}},
		{"main empty", head + "runtime: js\nmain: \"\"\n", []wantErr{
			{4, "main", "main is empty; name the entry point, such as src/index.ts"},
		}},
		{"main absolute", head + "runtime: js\nmain: /src/index.ts\n", []wantErr{
			{4, "main", `main "/src/index.ts" is absolute; give a path relative to the manifest's directory`},
		}},
		{"main outside", head + "runtime: js\nmain: ../index.ts\n", []wantErr{
			{4, "main", `main "../index.ts" has an empty, "." or ".." segment; give a path inside the function's directory`},
		}},
		{"main empty segment", head + "runtime: js\nmain: src//index.ts\n", []wantErr{
			{4, "main", `main "src//index.ts" has an empty, "." or ".." segment; give a path inside the function's directory`},
		}},
		{"main backslash", head + "runtime: js\nmain: 'src\\index.ts'\n", []wantErr{
			{4, "main", `main "src\\index.ts" contains a control character, a backslash or invalid UTF-8; separate directories with /`},
		}},
		{"main not a script", head + "runtime: js\nmain: src/index.py\n", []wantErr{
			{4, "main", `main "src/index.py" is not a JavaScript or TypeScript file: its name ends in one of .js, .mjs, .cjs, .jsx, .ts, .mts, .cts, .tsx`},
		}},
		{"main too long", head + "runtime: js\nmain: " + strings.Repeat("a", 254) + ".js\n", []wantErr{
			{4, "main", "main is 257 bytes long; the maximum is 256"},
		}},
		{"runtime not a string", head + "runtime: [js]\n", []wantErr{
			{3, "runtime", "expected a string, found a list"},
		}},

		// Routes.
		{"route missing method and path", head + "routes:\n  - public: true\n", []wantErr{
			{4, "routes[0]", `missing required field "method"`},
			{4, "routes[0]", `missing required field "path"`},
		}},
		{"unsupported method", head + "routes:\n  - method: FETCH\n    path: /a\n", []wantErr{
			{4, "routes[0].method", `unsupported method "FETCH": use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS`},
		}},
		{"method folding to ASCII only outside ASCII", head + "routes:\n  - method: poſt\n    path: /a\n", []wantErr{
			{4, "routes[0].method", `unsupported method "poſt": use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS`},
		}},
		{"unsupported auth", head + "routes:\n  - method: GET\n    path: /a\n    auth: oauth\n", []wantErr{
			{6, "routes[0].auth", `unsupported auth "oauth": use one of api-key, jwt, webhook; to open a route to everyone, set public: true instead`},
		}},
		{"public route with auth", head + "routes:\n  - method: GET\n    auth: api-key\n    path: /a\n    public: true\n", []wantErr{
			{5, "routes[0].auth", "a public route takes no auth"},
		}},
		{"duplicate routes", head + "routes:\n  - method: GET\n    path: /users/{id}\n  - method: get\n    path: /users/{name}\n", []wantErr{
			{6, "routes[1]", "duplicate route: GET /users/{} is already routed by routes[0] on line 4"},
		}},
		{"duplicate catch-all routes", head + "routes:\n  - {method: GET, path: \"/f/{a...}\"}\n  - {method: GET, path: \"/f/{b...}\"}\n", []wantErr{
			{5, "routes[1]", "duplicate route: GET /f/{...} is already routed by routes[0] on line 4"},
		}},
		{"path without slash", head + "routes:\n  - method: GET\n    path: hello\n", []wantErr{
			{5, "routes[0].path", `path "hello" must start with "/"`},
		}},
		{"path empty", head + "routes:\n  - method: GET\n    path: \"\"\n", []wantErr{
			{5, "routes[0].path", "path is empty"},
		}},
		{"path with empty segment", head + "routes:\n  - method: GET\n    path: /a//b\n", []wantErr{
			{5, "routes[0].path", `path "/a//b": empty segment ("//") is not allowed`},
		}},
		{"path with trailing slash", head + "routes:\n  - method: GET\n    path: /a/\n", []wantErr{
			{5, "routes[0].path", `path "/a/": trailing "/" is not allowed`},
		}},
		{"path with dot-dot", head + "routes:\n  - method: GET\n    path: /a/..\n", []wantErr{
			{5, "routes[0].path", `path "/a/..": segment ".." is not allowed`},
		}},
		{"path with bad character", head + "routes:\n  - method: GET\n    path: /a%20b\n", []wantErr{
			{5, "routes[0].path", `path "/a%20b": segment "a%20b": character '%' is not allowed; use letters, digits, '.', '_', '~' or '-'`},
		}},
		{"path with duplicate parameter", head + "routes:\n  - method: GET\n    path: /{id}/x/{id}\n", []wantErr{
			{5, "routes[0].path", `path "/{id}/x/{id}": parameter "id" appears twice`},
		}},
		{"path with catch-all not last", head + "routes:\n  - method: GET\n    path: /{rest...}/x\n", []wantErr{
			{5, "routes[0].path", `path "/{rest...}/x": segment "{rest...}": a catch-all parameter must be the last segment`},
		}},
		{"path too long", head + "routes:\n  - method: GET\n    path: /" + strings.Repeat("a", 512) + "\n", []wantErr{
			{5, "routes[0].path", "path is 513 bytes long; the maximum is 512"},
		}},
		{"reserved _pave", head + "routes:\n  - method: GET\n    path: /_pave/health\n", []wantErr{
			{5, "routes[0].path", `path "/_pave/health" is under /_pave, which is reserved for the platform`},
		}},
		{"reserved async", head + "routes:\n  - method: POST\n    path: /async\n", []wantErr{
			{5, "routes[0].path", `path "/async" is under /async, which is reserved for the platform`},
		}},
		{"reserved events", head + "routes:\n  - method: POST\n    path: /events/{topic}\n", []wantErr{
			{5, "routes[0].path", `path "/events/{topic}" is under /events, which is reserved for the platform`},
		}},

		// Limits.
		{"timeout without unit", head + "limits:\n  timeout: 10\n", []wantErr{
			{4, "limits.timeout", `duration 10 has no unit; write it with one, such as "10s" or "10ms"`},
		}},
		{"timeout float without unit", head + "limits:\n  timeout: 1.5\n", []wantErr{
			{4, "limits.timeout", `duration 1.5 has no unit; write it with one, such as "1.5s" or "1.5ms"`},
		}},
		{"timeout malformed", head + "limits:\n  timeout: ten seconds\n", []wantErr{
			{4, "limits.timeout", `invalid duration "ten seconds": use a number with a unit, such as "500ms", "10s" or "2m"`},
		}},
		{"timeout zero", head + "limits:\n  timeout: 0s\n", []wantErr{
			{4, "limits.timeout", "0s is below the minimum of 1ms"},
		}},
		{"timeout below minimum", head + "limits:\n  timeout: 999us\n", []wantErr{
			{4, "limits.timeout", "999us is below the minimum of 1ms"},
		}},
		{"timeout negative", head + "limits:\n  timeout: -1s\n", []wantErr{
			{4, "limits.timeout", "-1s is below the minimum of 1ms"},
		}},
		{"timeout above maximum", head + "limits:\n  timeout: 1000s\n", []wantErr{
			{4, "limits.timeout", "1000s is above the maximum of 900s"},
		}},
		{"timeout just above maximum", head + "limits:\n  timeout: 15m1ns\n", []wantErr{
			{4, "limits.timeout", "15m1ns is above the maximum of 900s"},
		}},
		{"memory below minimum", head + "limits:\n  memory: 1023KiB\n", []wantErr{
			{4, "limits.memory", "1023KiB is below the minimum of 1MiB"},
		}},
		{"memory zero", head + "limits:\n  memory: 0\n", []wantErr{
			{4, "limits.memory", "0 is below the minimum of 1MiB"},
		}},
		{"memory negative", head + "limits:\n  memory: -1\n", []wantErr{
			{4, "limits.memory", "-1 is below the minimum of 1MiB"},
		}},
		{"memory above maximum", head + "limits:\n  memory: 4294967297\n", []wantErr{
			{4, "limits.memory", "4294967297 is above the maximum of 4GiB"},
		}},
		{"memory overflowing", head + "limits:\n  memory: 99999999999999999999GiB\n", []wantErr{
			{4, "limits.memory", "99999999999999999999GiB is above the maximum of 4GiB"},
		}},
		{"memory in decimal units", head + "limits:\n  memory: 64MB\n", []wantErr{
			{4, "limits.memory", `invalid size "64MB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`},
		}},
		{"memory with a space", head + "limits:\n  memory: 64 MiB\n", []wantErr{
			{4, "limits.memory", `invalid size "64 MiB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`},
		}},
		{"memory fractional", head + "limits:\n  memory: 1.5GiB\n", []wantErr{
			{4, "limits.memory", `invalid size "1.5GiB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`},
		}},
		{"memory unit only", head + "limits:\n  memory: MiB\n", []wantErr{
			{4, "limits.memory", `invalid size "MiB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`},
		}},
		{"concurrency below minimum", head + "limits:\n  concurrency: 0\n", []wantErr{
			{4, "limits.concurrency", "0 is below the minimum of 1"},
		}},
		{"concurrency above maximum", head + "limits:\n  concurrency: 10001\n", []wantErr{
			{4, "limits.concurrency", "10001 is above the maximum of 10000"},
		}},
		{"concurrency out of range", head + "limits:\n  concurrency: 9223372036854775808\n", []wantErr{
			{4, "limits.concurrency", `"9223372036854775808" is not a valid 64-bit integer`},
		}},
		{"max_body below minimum", head + "limits:\n  max_body: 0B\n", []wantErr{
			{4, "limits.max_body", "0B is below the minimum of 1B"},
		}},
		{"max_body above maximum", head + "limits:\n  max_body: 65MiB\n", []wantErr{
			{4, "limits.max_body", "65MiB is above the maximum of 64MiB"},
		}},

		// Several problems at once, reported in order of position.
		{"errors sorted by line", "owner: -web\nlimits:\n  timeout: 0s\nrouts: []\n", []wantErr{
			{1, "", `missing required field "name"`},
			{1, "owner", `invalid owner "-web": use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`},
			{3, "limits.timeout", "0s is below the minimum of 1ms"},
			{4, "", `unknown field "routs"; did you mean "routes"?`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(tt.in))
			if m != nil {
				t.Errorf("Parse returned a manifest along with errors: %+v", m)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// checkErrors checks that err is an ErrorList holding exactly the wanted
// errors, in order, each formatted with its file, line and field.
func checkErrors(t *testing.T, err error, want []wantErr) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v (%T), want an ErrorList", err, err)
	}
	for i, e := range list {
		if i >= len(want) {
			t.Errorf("unexpected error: %v", e)
			continue
		}
		w := want[i]
		if e.Line != w.line || e.Field != w.field || e.Msg != w.msg {
			t.Errorf("error %d = %v\nwant %v", i, e, w)
		}
		if e.File != "pave.yaml" {
			t.Errorf("error %d: File = %q, want %q", i, e.File, "pave.yaml")
		}
		prefix := "pave.yaml:"
		if w.line > 0 {
			prefix += fmt.Sprint(w.line, ":")
		}
		if s := e.Error(); !strings.HasPrefix(s, prefix) || !strings.Contains(s, w.field+": ") {
			t.Errorf("error %d formats as %q, want it to start with %q and name field %q", i, s, prefix, w.field)
		}
	}
	for _, w := range want[min(len(list), len(want)):] {
		t.Errorf("missing error: %v", w)
	}
}

func TestParseDefaults(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(head+"routes:\n  - method: get\n    path: /\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		Name:    "hello",
		Owner:   "team-web",
		Module:  ".",
		Runtime: "go",
		Routes:  []Route{{Method: "GET", Path: "/", Auth: "api-key", Line: 4}},
		Limits: Limits{
			Timeout:     10 * time.Second,
			Memory:      64 << 20,
			Concurrency: 32,
			MaxBody:     1 << 20,
		},
		Async: Async{Retries: 3, Backoff: time.Second},
		File:  "pave.yaml",
	}
	m.lines = nil // TestLine checks them
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", m, want)
	}
	if m.Public() {
		t.Error("Public() = true for a manifest with no public route")
	}
	if m.IsWasmFile() {
		t.Error(`IsWasmFile() = true for module "."`)
	}
}

func TestParseRuntimeJS(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(head+"runtime: js\nmain: src/index.ts\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Runtime != RuntimeJS || m.Main != "src/index.ts" || m.Module != DefaultModule {
		t.Errorf("Runtime, Main, Module = %q, %q, %q; want js, src/index.ts, %q", m.Runtime, m.Main, m.Module, DefaultModule)
	}
	if line := m.Line("main"); line != 4 {
		t.Errorf(`Line("main") = %d, want 4`, line)
	}
}

func TestParseNoRoutes(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Routes) != 0 || m.Public() {
		t.Errorf("Routes = %v, Public() = %v; want none and false", m.Routes, m.Public())
	}
	if m.Limits != DefaultLimits() {
		t.Errorf("Limits = %+v, want the defaults %+v", m.Limits, DefaultLimits())
	}
	if m.Triggers != nil || !reflect.DeepEqual(m.Async, DefaultAsync()) {
		t.Errorf("Triggers = %v, Async = %+v; want none and the defaults %+v", m.Triggers, m.Async, DefaultAsync())
	}
}

func TestParseFull(t *testing.T) {
	const in = `# The greeting service.
name: hello-2
owner: ops@example.com
description: "Says hello, in several languages"
module: build/hello.wasm
routes:
  - method: get
    path: /hello/{name}
    public: true
  - method: POST
    path: /hello/{name}
    auth: api-key
  - method: Delete
    path: /files/{path...}
    public: false
  - {method: OPTIONS, path: "/hello/{name}"}
limits:
  timeout: 1m30s
  memory: 128MiB
  concurrency: 10000
  max_body: 1B
`
	m, err := Parse("svc/pave.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		Name:        "hello-2",
		Owner:       "ops@example.com",
		Description: "Says hello, in several languages",
		Module:      "build/hello.wasm",
		Runtime:     "go",
		Routes: []Route{
			{Method: "GET", Path: "/hello/{name}", Public: true, Line: 7},
			{Method: "POST", Path: "/hello/{name}", Auth: "api-key", Line: 10},
			{Method: "DELETE", Path: "/files/{path...}", Auth: "api-key", Line: 13},
			{Method: "OPTIONS", Path: "/hello/{name}", Auth: "api-key", Line: 16},
		},
		Limits: Limits{
			Timeout:     90 * time.Second,
			Memory:      128 << 20,
			Concurrency: 10000,
			MaxBody:     1,
		},
		Async: DefaultAsync(),
		File:  "svc/pave.yaml",
	}
	m.lines = nil // TestLine checks them
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", m, want)
	}
	if !m.Public() {
		t.Error("Public() = false for a manifest with a public route")
	}
	if !m.IsWasmFile() {
		t.Errorf("IsWasmFile() = false for module %q", m.Module)
	}
}

func TestParseBounds(t *testing.T) {
	// Every bound is inclusive, and every unit is understood.
	tests := []struct {
		in   string
		want Limits
	}{
		{
			"timeout: 1ms\nmemory: 1MiB\nconcurrency: 1\nmax_body: 1",
			Limits{Timeout: MinTimeout, Memory: MinMemory, Concurrency: MinConcurrency, MaxBody: MinMaxBody},
		},
		{
			"timeout: 900s\nmemory: 4GiB\nconcurrency: 10000\nmax_body: 64MiB",
			Limits{Timeout: MaxTimeout, Memory: MaxMemory, Concurrency: MaxConcurrency, MaxBody: MaxMaxBody},
		},
		{
			"timeout: 15m\nmemory: 4194304KiB\nconcurrency: 0x10\nmax_body: 1024B",
			Limits{Timeout: 15 * time.Minute, Memory: 4 << 30, Concurrency: 16, MaxBody: 1024},
		},
		{
			"timeout: 500ms\nmemory: \"1048576\"\nconcurrency: 1_000\nmax_body: 2KiB",
			Limits{Timeout: 500 * time.Millisecond, Memory: 1 << 20, Concurrency: 1000, MaxBody: 2048},
		},
	}
	for _, tt := range tests {
		in := head + "limits:\n  " + strings.ReplaceAll(tt.in, "\n", "\n  ") + "\n"
		m, err := Parse("pave.yaml", []byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if m.Limits != tt.want {
			t.Errorf("Parse(%q).Limits = %+v, want %+v", tt.in, m.Limits, tt.want)
		}
	}
}

func TestParseAcceptsLongestValues(t *testing.T) {
	in := fmt.Sprintf("name: a%s\nowner: A%s\ndescription: %s\n",
		strings.Repeat("-", 62), strings.Repeat("_", 127), strings.Repeat("é", 1024))
	m, err := Parse("pave.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Name) != 63 || len(m.Owner) != 128 {
		t.Errorf("name and owner have lengths %d and %d, want 63 and 128", len(m.Name), len(m.Owner))
	}
}

func TestParseLargestFile(t *testing.T) {
	in := head + "#"
	in += strings.Repeat("#", MaxFileSize-len(in))
	if _, err := Parse("pave.yaml", []byte(in)); err != nil {
		t.Errorf("Parse of a %d-byte manifest: %v", len(in), err)
	}
}

func TestParseErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(head)
	for i := range 30 {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	_, err := Parse("pave.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v, want an ErrorList", err)
	}
	if len(list) != MaxErrors {
		t.Fatalf("got %d errors, want %d", len(list), MaxErrors)
	}
	for i, e := range list[:MaxErrors-1] {
		if want := 3 + i; e.Line != want {
			t.Errorf("error %d is on line %d, want %d", i, e.Line, want)
		}
	}
	last := list[MaxErrors-1]
	if want := "pave.yaml: too many errors; 11 more not shown"; last.Error() != want {
		t.Errorf("last error = %q, want %q", last.Error(), want)
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := Parse("pave.yaml", []byte("name: X\nowner: _x\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false", err)
	}
	if e.Field != "name" || e.Line != 1 {
		t.Errorf("errors.As found %v, want the first error, about name on line 1", e)
	}
	want := "pave.yaml:1:7: name: invalid name \"X\": use 1 to 63 lowercase letters, digits and '-', starting with a letter\n" +
		"pave.yaml:2:8: owner: invalid owner \"_x\": use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit"
	if err.Error() != want {
		t.Errorf("error text =\n%s\nwant\n%s", err, want)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "pave.yaml", Line: 7, Column: 5, Field: "limits.timeout", Msg: "bad"}, "pave.yaml:7:5: limits.timeout: bad"},
		{Error{File: "pave.yaml", Line: 7, Msg: "bad"}, "pave.yaml:7: bad"},
		{Error{File: "pave.yaml", Msg: "bad"}, "pave.yaml: bad"},
		{Error{Line: 7, Column: 5, Field: "name", Msg: "bad"}, "7:5: name: bad"},
		{Error{Field: "name", Msg: "bad"}, "name: bad"},
		{Error{Column: 5, Msg: "bad"}, "bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
	if got := (ErrorList{}).Error(); got != "no errors" {
		t.Errorf("empty ErrorList.Error() = %q, want %q", got, "no errors")
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	good := write("good.yaml", head)
	m, err := ParseFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if m.File != good || m.Name != "hello" {
		t.Errorf("ParseFile = {File: %q, Name: %q}, want {File: %q, Name: %q}", m.File, m.Name, good, "hello")
	}

	bad := write("bad.yaml", head+"limits: {timeout: 1h}\n")
	_, err = ParseFile(bad)
	var e *Error
	if !errors.As(err, &e) || e.File != bad || e.Line != 3 || e.Field != "limits.timeout" {
		t.Errorf("ParseFile(bad) error = %v, want one about limits.timeout on line 3 of %s", err, bad)
	}

	big := write("big.yaml", head+strings.Repeat("#", 1<<20))
	_, err = ParseFile(big)
	if !errors.As(err, &e) || e.Msg != "manifest is larger than the limit of 256KiB" {
		t.Errorf("ParseFile(big) error = %v, want the size limit", err)
	}

	_, err = ParseFile(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ParseFile(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		r    Route
		want string
	}{
		{Route{Method: "GET", Path: "/"}, "GET /"},
		{Route{Method: "GET", Path: "/users/{id}"}, "GET /users/{}"},
		{Route{Method: "PUT", Path: "/users/{id}/files/{path...}"}, "PUT /users/{}/files/{...}"},
		{Route{Method: "GET", Path: "/a.b/~c_d-e"}, "GET /a.b/~c_d-e"},
		{Route{Method: "GET", Path: "not/valid"}, "GET not/valid"},
	}
	for _, tt := range tests {
		if got := tt.r.Pattern(); got != tt.want {
			t.Errorf("%+v.Pattern() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestIsWasmFile(t *testing.T) {
	tests := []struct {
		module string
		want   bool
	}{
		{".", false},
		{"./cmd/hello", false},
		{"hello.wasm", true},
		{"../build/hello.wasm", true},
		{"hello.wasm/pkg", false},
		{"hello.WASM", false},
	}
	for _, tt := range tests {
		m := &Manifest{Module: tt.module}
		if got := m.IsWasmFile(); got != tt.want {
			t.Errorf("IsWasmFile() for module %q = %v, want %v", tt.module, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"routes", "routes", 0},
		{"rout", "routes", 2},
		{"timout", "timeout", 1},
		{"memroy", "memory", 2},
		{"colour", "routes", 3},
		{"x", "description", 3},
		{"ébc", "abc", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 3); got != tt.want {
			t.Errorf("editDistance(%q, %q, 3) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTooManyRoutes(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: many\nowner: o\nroutes:\n")
	for i := 0; i <= MaxRoutes; i++ {
		fmt.Fprintf(&b, "  - method: GET\n    path: /r%d\n", i)
	}
	_, err := Parse("pave.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "pave.yaml:4:3: routes: 65 routes; a function has at most 64") {
		t.Fatalf("got %v", err)
	}
}

// Line finds the line of a field, of a list entry, or of the nearest
// field written out that holds it.
func TestLine(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(`name: fn
owner: team-a
limits:
  timeout: 5s
capabilities:
  http:
    - api.example.com
    - "*.example.org"
  secrets: [A, B]
`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"name": 1, "owner": 2, "limits": 3, "limits.timeout": 4,
		"limits.memory":           3, // a default: the line of limits
		"capabilities.http":       6,
		"capabilities.http[1]":    8,
		"capabilities.http[7]":    6,
		"capabilities.secrets[1]": 9,
		"capabilities.kv":         5,
		"triggers":                0,
		"":                        0,
	} {
		if got := m.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	if got := (&Manifest{}).Line("owner"); got != 0 {
		t.Errorf("a manifest not parsed: %d", got)
	}
}
