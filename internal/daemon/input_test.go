package daemon_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/testguests"
)

// mirrored is what the mirror guest says it received.
type mirrored struct {
	Path     string              `json:"path"`
	Route    string              `json:"route"`
	Params   [][2]string         `json:"params"`
	RawQuery string              `json:"raw_query"`
	Query    map[string][]string `json:"query"`
}

const mirrorManifest = `name: mirror
owner: team-test
routes:
  - method: GET
    path: /items
    public: true
    schema:
      query:
        type: object
        properties:
          limit: {pattern: "^[0-9]{1,3}$"}
  - method: GET
    path: /free
    public: true
  - method: GET
    path: /files/{rest...}
    public: true
  - method: GET
    path: /users/{id}
    public: true
`

// get sends GET target as written: the request line carries exactly the
// escapes of target.
func (n *node) get(t *testing.T, target string) response {
	t.Helper()
	req, err := http.NewRequest("GET", n.d.GatewayURL()+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.RequestURI(); got != target {
		t.Fatalf("the client would send %q, not %q", got, target)
	}
	return n.send("GET", target, nil, nil)
}

func (r response) mirrored(t *testing.T) mirrored {
	t.Helper()
	var m mirrored
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// TestQueryContractCannotBeBypassed sends queries that net/url reads
// differently from Python's and Node's parsers to a route whose contract
// allows only digits in limit: each must be refused, on a route without a
// contract too, and a valid query must reach the function as sent, with
// the SDK reading the values the contract checked.
func TestQueryContractCannotBeBypassed(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(mirrorManifest, testguests.Build(t, "mirror"))

	for _, target := range []string{
		"/items?limit=abc",
		"/items?limit=abc;x=1",
		"/items?limit=abc%ZZ",
		"/items?limit=abc%",
		"/items?limit=1&limit=abc%",
		"/items?limit=%FF",
		"/items?limit=1%00abc",
		// The pattern ignores arrays: a function reading the first or
		// last value would get abc.
		"/items?limit=abc&limit=abc",
		"/items?limit=1&limit=abc",
		"/items?limit=abc&limit=1",
		"/free?limit=abc;x=1",
		"/free?limit=abc%ZZ",
	} {
		t.Run(target, func(t *testing.T) {
			r := n.get(t, target)
			if r.status != 400 {
				t.Fatalf("%d %s: an ambiguous or invalid query reached the function", r.status, r.body)
			}
			if code := r.errorCode(t); code != "bad_request" && code != "invalid_input" {
				t.Errorf("code %s", code)
			}
		})
	}
	for _, tt := range []struct {
		target string
		query  map[string][]string
	}{
		{"/items?limit=10", map[string][]string{"limit": {"10"}}},
		{"/items?limit=7&note=a+b%3B%25", map[string][]string{"limit": {"7"}, "note": {"a b;%"}}},
		{"/free?x=%3B&y", map[string][]string{"x": {";"}, "y": {""}}},
		{"/items?limit=1&limit=2", map[string][]string{"limit": {"1", "2"}}},
	} {
		t.Run(tt.target, func(t *testing.T) {
			r := n.get(t, tt.target)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			m := r.mirrored(t)
			if _, raw, _ := strings.Cut(tt.target, "?"); m.RawQuery != raw {
				t.Errorf("raw query %q, want %q as sent", m.RawQuery, raw)
			}
			if !reflect.DeepEqual(m.Query, tt.query) {
				t.Errorf("Query() = %v, want %v", m.Query, tt.query)
			}
		})
	}
}

// TestPathParametersHoldNoDotSegments sends paths whose encoded slashes
// would put "..", "." or empty segments into a parameter: none reaches the
// function, and a parameter with an encoded slash that is canonical does,
// decoded once.
func TestPathParametersHoldNoDotSegments(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(mirrorManifest, testguests.Build(t, "mirror"))

	for _, target := range []string{
		"/files/..%2fprivate",
		"/files/a%2f..%2f..%2fadmin",
		"/files/%2f%2fetc%2fpasswd",
		"/users/..%2f..%2fprivate",
		"/users/%2e%2e%2fprivate",
		"/files/%2e%2e/private",
		"/files/.%2fx",
		"/files/a%2f",
		"/files/..%5cprivate",
		"/users/1%00",
		"/users/%ff",
		"/async/files/..%2fprivate",
	} {
		t.Run(target, func(t *testing.T) {
			r := n.get(t, target)
			if r.status != 404 {
				t.Fatalf("%d %s: the path reached the function", r.status, r.body)
			}
			if code := r.errorCode(t); code != "route_not_found" {
				t.Errorf("code %s", code)
			}
		})
	}
	for _, tt := range []struct {
		target, path, param string
	}{
		{"/files/a%2Fb/c.txt", "/files/a/b/c.txt", "a/b/c.txt"},
		{"/files/..%252fprivate", "/files/..%2fprivate", "..%2fprivate"},
		{"/users/...", "/users/...", "..."},
	} {
		t.Run(tt.target, func(t *testing.T) {
			r := n.get(t, tt.target)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			m := r.mirrored(t)
			if m.Path != tt.path || len(m.Params) != 1 || m.Params[0][1] != tt.param {
				t.Errorf("path %q, params %q; want %q and %q", m.Path, m.Params, tt.path, tt.param)
			}
		})
	}
}
