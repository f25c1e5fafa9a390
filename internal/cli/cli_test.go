package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// adminToken is the token the tests give pave; no output may contain it.
const adminToken = "pave_admin_0f1e2d3c4b5a"

// runPave runs pave and returns what it printed and its exit status.
func runPave(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	stdout, stderr = out.String(), errOut.String()
	if strings.Contains(stdout+stderr, adminToken) {
		t.Errorf("pave %s printed the admin token:\n%s%s", strings.Join(args, " "), stdout, stderr)
	}
	return stdout, stderr, code
}

// noDaemon is an environment in which no daemon can be found.
func noDaemon(t *testing.T) map[string]string {
	return map[string]string{"PAVE_DATA": t.TempDir()}
}

// allCommands returns the names of every command and group.
func allCommands() []string {
	var names []string
	var walk func([]*command)
	walk = func(cmds []*command) {
		for _, c := range cmds {
			names = append(names, c.name)
			walk(c.subcommands)
		}
	}
	walk(commands)
	return names
}

func TestCommandHelp(t *testing.T) {
	for _, name := range allCommands() {
		t.Run(name, func(t *testing.T) {
			words := strings.Fields(name)
			env := noDaemon(t)
			var first string
			for i, args := range [][]string{
				append(slices.Clone(words), "--help"),
				append(slices.Clone(words), "-h"),
				append([]string{"help"}, words...),
			} {
				stdout, stderr, code := runPave(t, env, "", args...)
				if code != 0 || stderr != "" {
					t.Errorf("pave %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, stderr)
				}
				usage, _, _ := strings.Cut(stdout, "\n")
				if usage != "Usage: pave "+name && !strings.HasPrefix(usage, "Usage: pave "+name+" ") {
					t.Errorf("pave %s printed %q, want a usage line first", strings.Join(args, " "), stdout)
				}
				if i == 0 {
					first = stdout
				} else if stdout != first {
					t.Errorf("pave %s printed\n%s\nwhich differs from --help:\n%s", strings.Join(args, " "), stdout, first)
				}
			}
		})
	}
}

func TestTopLevelUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		toStderr bool
	}{
		{nil, 2, true},
		{[]string{"help"}, 0, false},
		{[]string{"--help"}, 0, false},
		{[]string{"-h"}, 0, false},
	}
	for _, tt := range tests {
		stdout, stderr, code := runPave(t, noDaemon(t), "", tt.args...)
		usage, other := stdout, stderr
		if tt.toStderr {
			usage, other = stderr, stdout
		}
		if code != tt.wantCode || other != "" {
			t.Errorf("pave %v: exit %d, other stream %q; want %d and nothing", tt.args, code, other, tt.wantCode)
		}
		if !strings.Contains(usage, "Usage: pave <command> [arguments]") {
			t.Errorf("pave %v printed no usage line:\n%s", tt.args, usage)
		}
		for _, c := range commands {
			if !strings.Contains(usage, "\n  "+c.name+" ") {
				t.Errorf("pave %v does not list %q:\n%s", tt.args, c.name, usage)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	want, _, _ := runPave(t, noDaemon(t), "", "version")
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		stdout, stderr, code := runPave(t, noDaemon(t), "", args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "pave ") || strings.Count(stdout, "\n") != 1 || stdout != want {
			t.Errorf("pave %s: exit %d, stdout %q, stderr %q", args[0], code, stdout, stderr)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr string
		wantCode   int
	}{
		{[]string{"nope"}, `pave: unknown command "nope" (see 'pave help')`, 2},
		{[]string{"help", "nope"}, `pave: unknown command "nope" (see 'pave help')`, 2},
		{[]string{"keys", "nope"}, `pave: unknown command "keys nope" (see 'pave keys --help')`, 2},
		{[]string{"ls", "extra"}, `pave: ls: takes no arguments, got "extra" (see 'pave ls --help')`, 2},
		{[]string{"ls", "--bogus"}, `pave: ls: flag provided but not defined: -bogus (see 'pave ls --help')`, 2},
		{[]string{"get"}, `pave: get: want NAME, got 0 arguments (see 'pave get --help')`, 2},
		{[]string{"rm", "a", "b"}, `pave: rm: want NAME, got 2 arguments (see 'pave rm --help')`, 2},
		{[]string{"rollback", "hello", "two"}, `pave: rollback: VERSION "two": want a version number, 1 or more (see 'pave rollback --help')`, 2},
		{[]string{"rollback", "hello", "0"}, `pave: rollback: VERSION "0": want a version number, 1 or more (see 'pave rollback --help')`, 2},
		{[]string{"build", "a", "b"}, `pave: build: want [DIR], got 2 arguments (see 'pave build --help')`, 2},
		{[]string{"console", "user", "add", "alice"}, `pave: console user add: --role is required: viewer or operator (see 'pave console user add --help')`, 2},
		{[]string{"console", "user", "add", "alice", "--role", "admin"}, `pave: console user add: --role is required: viewer or operator (see 'pave console user add --help')`, 2},
		{[]string{"console", "user", "set", "alice"}, `pave: console user set: --role is required: viewer or operator (see 'pave console user set --help')`, 2},
		{[]string{"keys", "update", "ci"}, `pave: keys update: name functions with --add-functions or --remove-functions (see 'pave keys update --help')`, 2},
		{[]string{"keys", "create", "ci"}, `pave: keys create: --functions is required: name the functions the key may call (see 'pave keys create --help')`, 2},
		{[]string{"keys", "create", "ci", "--functions", " , "}, `pave: keys create: --functions is required: name the functions the key may call (see 'pave keys create --help')`, 2},
		{[]string{"keys", "create", "ci", "--functions", "a", "--expires", "soon"}, `pave: keys create: invalid value "soon" for flag -expires: parse error (see 'pave keys create --help')`, 2},
		{[]string{"keys", "create", "ci", "--functions", "a", "--expires", "-1h"}, `pave: keys create: --expires -1h0m0s: want a positive duration (see 'pave keys create --help')`, 2},
		{[]string{"invoke", "hello", "-H", "no colon"}, `pave: invoke: invalid value "no colon" for flag -H: want "Name: value" (see 'pave invoke --help')`, 2},
		{[]string{"invoke", "hello", "-H", "Bad Name: x"}, `pave: invoke: invalid value "Bad Name: x" for flag -H: invalid header name "Bad Name" (see 'pave invoke --help')`, 2},
		{[]string{"serve", "--listen", "nowhere"}, `pave: serve: --listen "nowhere": want host:port (see 'pave serve --help')`, 2},
		{[]string{"serve", "extra"}, `pave: serve: pave serve takes no arguments, got "extra" (see 'pave serve --help')`, 2},
		{[]string{"up", "--verbose=maybe"}, `pave: up: invalid value "maybe" for flag -verbose: parse error (see 'pave up --help')`, 2},
		{[]string{"up", "--bogus"}, `pave: up: flag provided but not defined: -bogus (see 'pave up --help')`, 2},
		{[]string{"ls"}, "pave: cannot find the pave daemon: set PAVE_ADMIN_URL and PAVE_TOKEN, or pass --data DIR of a running daemon (no DATA/admin.url)", 1},
		{[]string{"deploy", "no/such/dir"}, "pave: open no/such/dir: no such file or directory", 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env := noDaemon(t)
			stdout, stderr, code := runPave(t, env, "", tt.args...)
			want := strings.ReplaceAll(tt.wantStderr, "DATA", env["PAVE_DATA"]) + "\n"
			if code != tt.wantCode || stderr != want || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr\n%s\nwant exit %d, nothing on stdout, stderr\n%s", code, stdout, stderr, tt.wantCode, want)
			}
		})
	}
}

func TestDaemonUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	env := map[string]string{"PAVE_ADMIN_URL": url, "PAVE_TOKEN": adminToken}
	_, stderr, code := runPave(t, env, "", "ls")
	want := "pave: cannot reach the pave daemon at " + url + " ("
	if code != 1 || !strings.HasPrefix(stderr, want) || !strings.HasSuffix(stderr, "); is it running?\n") {
		t.Errorf("exit %d, stderr %q; want 1 and %q...", code, stderr, want)
	}
}

// fakeAPI is an admin API that answers from a table and records the
// requests it gets.
type fakeAPI struct {
	t *testing.T
	// responses maps "METHOD /escaped/path" to a response; other requests
	// get a 404 in pave's error shape.
	responses map[string]fakeResponse

	mu       sync.Mutex
	requests []string
	// queries are the requests' query strings, in the same order.
	queries []string
}

type fakeResponse struct {
	status int
	body   string
}

// startFakeAPI starts a fake admin API and returns the environment that
// points pave at it.
func startFakeAPI(t *testing.T, responses map[string]fakeResponse) (*fakeAPI, map[string]string) {
	api := &fakeAPI{t: t, responses: responses}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, map[string]string{
		"PAVE_ADMIN_URL": srv.URL,
		"PAVE_TOKEN":     adminToken,
		"PAVE_DATA":      t.TempDir(),
	}
}

// ServeHTTP records a request as "METHOD /path", followed by its body:
// JSON re-encoded with sorted keys, other bodies by their size.
func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.EscapedPath()
	if got := r.Header.Get("Authorization"); got != "Bearer "+adminToken {
		f.t.Errorf("%s: Authorization = %q, want the admin token", key, got)
	}
	body, _ := io.ReadAll(r.Body)
	record := key
	switch {
	case len(body) == 0:
	case r.Header.Get("Content-Type") == "application/json":
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			f.t.Errorf("%s: body is not JSON: %v", key, err)
		}
		canonical, _ := json.Marshal(v)
		record += " " + string(canonical)
	default:
		record += " <" + r.Header.Get("Content-Type") + ", " + strconv.Itoa(len(body)) + " bytes>"
	}
	f.mu.Lock()
	f.requests = append(f.requests, record)
	f.queries = append(f.queries, r.URL.RawQuery)
	f.mu.Unlock()

	resp, ok := f.responses[key]
	if !ok {
		resp = fakeResponse{404, `{"error":{"code":"not_found","message":"not found","request_id":"req-404"}}`}
	}
	if resp.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

// recorded returns the requests recorded so far.
func (f *fakeAPI) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// recordedQueries returns the query strings of the requests recorded so
// far.
func (f *fakeAPI) recordedQueries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)

	helloJSON = `{
		"name": "hello", "owner": "team-a", "description": "Says hello",
		"version": 2, "digest": "` + digestB + `", "mode": "reactor", "isolation": "snapshot",
		"routes": [
			{"method": "GET", "path": "/hello", "public": false, "auth": "api-key"},
			{"method": "POST", "path": "/hello/{name}", "public": true}
		],
		"limits": {"timeout_ms": 10000, "memory_bytes": 67108864, "concurrency": 32, "max_body_bytes": 1048576},
		"public": true,
		"created_at": "2025-03-01T12:00:00Z", "updated_at": "2025-03-02T08:30:00Z",
		"last_invoked": "2025-03-02T09:00:00Z",
		"invocations_7d": 12, "invocations_30d": 40,
		"capabilities": {"kv": {"notes": "write"}, "secrets": ["API_KEY"]},
		"triggers": [{"topic": "orders.created"}, {"schedule": "*/5 * * * *", "timezone": "Europe/Paris", "missed": "skip"}],
		"versions": [
			{"number": 1, "digest": "` + digestA + `", "size": 2202009, "mode": "reactor", "isolation": "snapshot", "deployed_at": "2025-03-01T12:00:00Z", "manifest": "name: hello\n"},
			{"number": 2, "digest": "` + digestB + `", "size": 2310144, "mode": "reactor", "isolation": "snapshot", "deployed_at": "2025-03-02T08:30:00Z", "manifest": "name: hello\n"}
		]
	}`
	echoJSON = `{
		"name": "echo", "owner": "team-b", "version": 1, "digest": "` + digestA + `", "mode": "wasi-command", "isolation": "fresh",
		"routes": [{"method": "POST", "path": "/echo", "public": false, "auth": "api-key"}],
		"limits": {"timeout_ms": 500, "memory_bytes": 16777216, "concurrency": 4, "max_body_bytes": 4096},
		"public": false, "created_at": "2025-03-01T12:00:00Z", "updated_at": "2025-03-01T12:00:00Z",
		"invocations_7d": 0, "invocations_30d": 3,
		"quarantine": {"at": "2025-03-04T10:00:00Z", "by": "admin", "reason": "leaked a token"}
	}`
	// rolledBackJSON is hello after a rollback to version 1.
	rolledBackJSON = `{"name": "hello", "owner": "team-a", "version": 1, "digest": "` + digestA + `", "mode": "reactor", "isolation": "snapshot",
		"routes": [], "limits": {}, "public": false, "created_at": "2025-03-01T12:00:00Z", "updated_at": "2025-03-03T00:00:00Z"}`

	historyNDJSON = `{"time":"2025-03-02T09:00:00Z","request_id":"r1","function":"hello","route":"GET /hello","caller":"key:ci","status":200,"duration_ms":1.25,"memory_bytes":2097152,"capabilities":{"kv":{"calls":2},"secrets":{"calls":1,"denials":1}},"logs":[{"level":"INFO","msg":"hello, Ada"},{"level":"WARN","msg":"slow path"}]}
{"time":"2025-03-02T09:00:01Z","request_id":"r2","function":"hello","route":"GET /hello","status":401,"error_code":"unauthenticated","duration_ms":0.05}
`

	notFoundJSON = `{"error":{"code":"function_not_found","message":"function \"nope\" does not exist","request_id":"req-1"}}`

	keysJSON = `{"keys": [
		{"name": "old", "functions": ["hello"], "created_at": "2024-01-01T00:00:00Z", "expires_at": "2024-02-01T00:00:00Z", "revoked": false},
		{"name": "ci", "functions": ["hello", "echo"], "created_at": "2025-03-01T12:00:00Z", "revoked": false},
		{"name": "leaked", "functions": ["echo"], "created_at": "2025-03-01T12:00:00Z", "revoked": true, "revoked_at": "2025-03-02T00:00:00Z"},
		{"name": "long", "functions": ["echo"], "created_at": "2025-03-01T12:00:00Z", "expires_at": "2999-01-01T00:00:00Z", "revoked": false}
	]}`
)

func TestClientCommands(t *testing.T) {
	tests := []apiCase{
		{
			name: "ls",
			args: []string{"ls"},
			responses: map[string]fakeResponse{
				"GET /v1/functions": {200, `{"functions": [` + helloJSON + `,` + echoJSON + `]}`},
			},
			wantRequests: []string{"GET /v1/functions"},
			wantStdout: "" +
				"NAME                OWNER   VERSION  ROUTES                          PUBLIC  CAPABILITIES  TRIGGERS                                                 LAST-INVOKED          7D  30D\n" +
				"echo (quarantined)  team-b  1        POST /echo                      no      -             -                                                        never                 0   3\n" +
				"hello               team-a  2        GET /hello, POST /hello/{name}  yes     secrets,kv    topic:orders.created, schedule:*/5 * * * * Europe/Paris  2025-03-02T09:00:00Z  12  40\n",
		},
		{
			name: "ls with no functions",
			args: []string{"ls"},
			responses: map[string]fakeResponse{
				"GET /v1/functions": {200, `{"functions": []}`},
			},
			wantRequests: []string{"GET /v1/functions"},
			wantStderr:   "no functions deployed; deploy one with 'pave deploy DIR'\n",
		},
		{
			name: "ls --format json",
			args: []string{"ls", "--format", "json"},
			responses: map[string]fakeResponse{
				"GET /v1/functions": {200, `{"functions": [` + echoJSON + `]}`},
			},
			wantRequests:   []string{"GET /v1/functions"},
			wantStdoutJSON: `{"functions": [` + echoJSON + `]}`,
		},
		{
			name: "ls --format json with no functions is an empty list",
			args: []string{"ls", "--format", "json"},
			responses: map[string]fakeResponse{
				"GET /v1/functions": {200, `{}`},
			},
			wantRequests: []string{"GET /v1/functions"},
			wantStdout:   "{\n  \"functions\": []\n}\n",
		},
		{
			name: "quarantine",
			args: []string{"quarantine", "echo", "--reason", "leaked a token"},
			responses: map[string]fakeResponse{
				"POST /v1/functions/echo/quarantine": {200, echoJSON},
			},
			wantRequests: []string{`POST /v1/functions/echo/quarantine {"reason":"leaked a token"}`},
			wantStdout:   "quarantined echo; 'pave restore echo' enables it again\n",
		},
		{
			name: "restore",
			args: []string{"restore", "echo"},
			responses: map[string]fakeResponse{
				"POST /v1/functions/echo/restore": {200, echoJSON},
			},
			wantRequests: []string{"POST /v1/functions/echo/restore"},
			wantStdout:   "restored echo\n",
		},
		{
			name: "calls",
			args: []string{"calls", "hello", "--since", "2h"},
			responses: map[string]fakeResponse{
				"GET /v1/functions/hello/history": {200, historyNDJSON},
			},
			wantRequests: []string{"GET /v1/functions/hello/history"},
			wantStdout: "" +
				"TIME                  REQUEST-ID  ROUTE       CALLER  STATUS  OUTCOME          DURATION  MEMORY  CAPABILITIES\n" +
				"2025-03-02T09:00:00Z  r1          GET /hello  key:ci  200     ok               1.25ms    2.0MiB  secrets:1(1 denied) kv:2\n" +
				"2025-03-02T09:00:01Z  r2          GET /hello  -       401     unauthenticated  0.05ms    -       -\n",
		},
		{
			name: "logs",
			args: []string{"logs", "hello"},
			responses: map[string]fakeResponse{
				"GET /v1/functions/hello/history": {200, historyNDJSON},
			},
			wantRequests: []string{"GET /v1/functions/hello/history"},
			wantStdout: "" +
				"2025-03-02T09:00:00Z r1 200 ok 1.25ms\n" +
				"  INFO  hello, Ada\n" +
				"  WARN  slow path\n" +
				"2025-03-02T09:00:01Z r2 401 unauthenticated 0.05ms\n",
		},
		{
			name: "audit log",
			args: []string{"audit", "log", "--since", "24h"},
			responses: map[string]fakeResponse{
				"GET /v1/audit": {200, `{"seq":1,"time":"2025-03-02T09:00:00Z","actor":"admin","action":"function.deploy","target":"function:hello","source":"127.0.0.1","outcome":"ok","details":{"version":"2","digest":"sha256:bb"}}
{"seq":3,"time":"2025-03-02T09:01:00Z","actor":"anonymous","action":"auth.denied","target":"function:hello","source":"10.0.0.9","outcome":"denied","details":{"reason":"unauthenticated"}}
`},
			},
			wantRequests: []string{"GET /v1/audit"},
			wantStdout: "" +
				"SEQ  TIME                  ACTOR      ACTION           TARGET          SOURCE     OUTCOME  DETAILS\n" +
				"1    2025-03-02T09:00:00Z  admin      function.deploy  function:hello  127.0.0.1  ok       digest=sha256:bb version=2\n" +
				"3    2025-03-02T09:01:00Z  anonymous  auth.denied      function:hello  10.0.0.9   denied   reason=unauthenticated\n",
		},
		{
			name: "audit verify",
			args: []string{"audit", "verify"},
			responses: map[string]fakeResponse{
				"GET /v1/audit/verify": {200, `{"ok":true,"first":1,"last":9,"end":9,"events":7,"seals":2,"last_seal":8,"unsealed":1,"head":8}`},
			},
			wantRequests: []string{"GET /v1/audit/verify"},
			wantStdout:   "records 1 to 9: 7 events, 2 seals; last seal at record 8; 1 unsealed\nthe audit log is intact\n",
		},
		{
			name: "audit verify of a broken log",
			args: []string{"audit", "verify"},
			responses: map[string]fakeResponse{
				"GET /v1/audit/verify": {200, `{"ok":false,"problem":{"seq":4,"kind":"missing","detail":"record 4 is missing","text":"record 4: missing: record 4 is missing"},"first":1,"last":9,"end":9,"events":6,"seals":2,"last_seal":8,"unsealed":1,"head":8}`},
			},
			wantRequests: []string{"GET /v1/audit/verify"},
			wantStdout:   "records 1 to 9: 6 events, 2 seals; last seal at record 8; 1 unsealed\n",
			wantStderr:   "pave: the audit log is not intact: record 4: missing: record 4 is missing\n",
			wantCode:     1,
		},
		{
			name: "get",
			args: []string{"get", "hello"},
			responses: map[string]fakeResponse{
				"GET /v1/functions/hello": {200, helloJSON},
			},
			wantRequests: []string{"GET /v1/functions/hello"},
			wantStdout: "" +
				"name          hello\n" +
				"description   Says hello\n" +
				"owner         team-a\n" +
				"version       2\n" +
				"digest        " + digestB + "\n" +
				"mode          reactor\n" +
				"isolation     snapshot\n" +
				"public        yes\n" +
				"created       2025-03-01T12:00:00Z\n" +
				"updated       2025-03-02T08:30:00Z\n" +
				"last invoked  2025-03-02T09:00:00Z\n" +
				"invocations   12 in 7 days, 40 in 30 days\n" +
				"capabilities  secrets,kv\n" +
				"triggers      topic:orders.created, schedule:*/5 * * * * Europe/Paris\n" +
				"limits        timeout 10s, memory 64 MiB, concurrency 32, request body 1 MiB\n" +
				"\n" +
				"routes\n" +
				"  GET   /hello         api-key\n" +
				"  POST  /hello/{name}  public\n" +
				"\n" +
				"versions (* active)\n" +
				"  VERSION  DIGEST               SIZE     MODE     ISOLATION  DEPLOYED\n" +
				"  1        sha256:aaaaaaaaaaaa  2.1 MiB  reactor  snapshot   2025-03-01T12:00:00Z\n" +
				"* 2        sha256:bbbbbbbbbbbb  2.2 MiB  reactor  snapshot   2025-03-02T08:30:00Z\n",
		},
		{
			name: "get --format json",
			args: []string{"get", "--format", "json", "hello"},
			responses: map[string]fakeResponse{
				"GET /v1/functions/hello": {200, helloJSON},
			},
			wantRequests:   []string{"GET /v1/functions/hello"},
			wantStdoutJSON: helloJSON,
		},
		{
			name:         "get of a missing function",
			args:         []string{"get", "nope"},
			responses:    map[string]fakeResponse{"GET /v1/functions/nope": {404, notFoundJSON}},
			wantRequests: []string{"GET /v1/functions/nope"},
			wantStderr:   "pave: function \"nope\" does not exist (code function_not_found, request req-1)\n",
			wantCode:     1,
		},
		{
			name:         "get escapes the name",
			args:         []string{"get", "../keys"},
			wantRequests: []string{"GET /v1/functions/..%2Fkeys"},
			wantStderr:   "pave: not found (code not_found, request req-404)\n",
			wantCode:     1,
		},
		{
			name:         "rm",
			args:         []string{"rm", "hello"},
			responses:    map[string]fakeResponse{"DELETE /v1/functions/hello": {204, ""}},
			wantRequests: []string{"DELETE /v1/functions/hello"},
			wantStdout:   "removed hello\n",
		},
		{
			name:         "rollback to the previous version",
			args:         []string{"rollback", "hello"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/rollback": {200, rolledBackJSON}},
			wantRequests: []string{"POST /v1/functions/hello/rollback {}"},
			wantStdout:   "hello is at version 1 (sha256:aaaaaaaaaaaa)\n",
		},
		{
			name:         "rollback to a version",
			args:         []string{"rollback", "hello", "1"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/rollback": {200, rolledBackJSON}},
			wantRequests: []string{`POST /v1/functions/hello/rollback {"version":1}`},
			wantStdout:   "hello is at version 1 (sha256:aaaaaaaaaaaa)\n",
		},
		{
			name: "invoke",
			args: []string{"invoke", "hello"},
			responses: map[string]fakeResponse{
				"POST /v1/functions/hello/invoke": {200, `{"status": 200, "body": "aGVsbG8K", "request_id": "r1"}`},
			},
			wantRequests: []string{"POST /v1/functions/hello/invoke {}"},
			wantStdout:   "hello\n",
		},
		{
			name: "invoke with a request",
			args: []string{"invoke", "--method", "post", "hello", "--path", "/hello/bob", "--query", "?x=1",
				"-H", "x-trace: 1", "-H", "X-Trace:2", "--data", `{"a":1}`},
			responses: map[string]fakeResponse{
				"POST /v1/functions/hello/invoke": {200, `{"status": 201, "request_id": "r1"}`},
			},
			wantRequests: []string{`POST /v1/functions/hello/invoke {"body":"eyJhIjoxfQ==",` +
				`"headers":{"Content-Type":"application/json","X-Trace":"1, 2"},"method":"POST","path":"/hello/bob","query":"x=1"}`},
		},
		{
			name:  "invoke with a body from stdin",
			args:  []string{"invoke", "hello", "--data", "@-", "-H", "Content-Type: text/plain"},
			stdin: `{"not": "sent as JSON"}`,
			responses: map[string]fakeResponse{
				"POST /v1/functions/hello/invoke": {200, `{"status": 204, "request_id": "r1"}`},
			},
			wantRequests: []string{`POST /v1/functions/hello/invoke {"body":"eyJub3QiOiAic2VudCBhcyBKU09OIn0=","headers":{"Content-Type":"text/plain"}}`},
		},
		{
			name: "invoke -i with a failing function",
			args: []string{"invoke", "-i", "hello"},
			responses: map[string]fakeResponse{
				"POST /v1/functions/hello/invoke": {200, `{"status": 500, "headers": {"X-B": ["2"], "Content-Type": ["text/plain"], "X-A": ["1", "3"]}, "body": "Ym9vbQ==", "request_id": "r1"}`},
			},
			wantRequests: []string{"POST /v1/functions/hello/invoke {}"},
			wantStdout:   "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nX-A: 1\r\nX-A: 3\r\nX-B: 2\r\n\r\nboom",
			wantStderr:   "pave: hello answered 500 Internal Server Error (request r1)\n",
			wantCode:     1,
		},
		{
			name:         "invoke of a missing function",
			args:         []string{"invoke", "nope"},
			responses:    map[string]fakeResponse{"POST /v1/functions/nope/invoke": {404, notFoundJSON}},
			wantRequests: []string{"POST /v1/functions/nope/invoke {}"},
			wantStderr:   "pave: function \"nope\" does not exist (code function_not_found, request req-1)\n",
			wantCode:     1,
		},
		{
			name: "keys create",
			args: []string{"keys", "create", "ci", "--functions", "hello, echo", "--expires", "720h"},
			responses: map[string]fakeResponse{
				"POST /v1/keys": {201, `{"key": {"name": "ci", "functions": ["hello", "echo"], "created_at": "2025-03-01T12:00:00Z",
					"expires_at": "2025-03-31T12:00:00Z", "revoked": false}, "secret": "pave_k_s3cret"}`},
			},
			wantRequests: []string{`POST /v1/keys {"expires_in":"720h0m0s","functions":["hello","echo"],"name":"ci"}`},
			wantStdout:   "pave_k_s3cret\n",
			wantStderr:   "Created key \"ci\" for hello, echo; it expires 2025-03-31T12:00:00Z.\nStore the secret now: it will not be shown again.\n",
		},
		{
			name: "keys create without expiry",
			args: []string{"keys", "create", "--functions=hello", "ci"},
			responses: map[string]fakeResponse{
				"POST /v1/keys": {201, `{"key": {"name": "ci", "functions": ["hello"], "created_at": "2025-03-01T12:00:00Z"}, "secret": "pave_k_s3cret"}`},
			},
			wantRequests: []string{`POST /v1/keys {"functions":["hello"],"name":"ci"}`},
			wantStdout:   "pave_k_s3cret\n",
			wantStderr:   "Created key \"ci\" for hello; it does not expire.\nStore the secret now: it will not be shown again.\n",
		},
		{
			name: "console user add",
			args: []string{"console", "user", "add", "alice", "--role", "operator"},
			responses: map[string]fakeResponse{
				"POST /v1/console/users": {201, `{"user": {"name": "alice", "role": "operator", "created_at": "2025-03-01T12:00:00Z"}, "password": "pave_u_s3cret"}`},
			},
			wantRequests: []string{`POST /v1/console/users {"name":"alice","role":"operator"}`},
			wantStdout:   "pave_u_s3cret\n",
			wantStderr:   "Created console user \"alice\" (operator).\nGive them the password now: it will not be shown again.\n",
		},
		{
			name:         "console user ls",
			args:         []string{"console", "user", "ls"},
			responses:    map[string]fakeResponse{"GET /v1/console/users": {200, `{"users": [{"name": "vera", "role": "viewer", "created_at": "2025-03-01T12:00:00Z"}]}`}},
			wantRequests: []string{"GET /v1/console/users"},
			wantStdout:   "NAME  ROLE    CREATED\nvera  viewer  2025-03-01T12:00:00Z\n",
		},
		{
			name:         "console user set",
			args:         []string{"console", "user", "set", "vera", "--role", "operator"},
			responses:    map[string]fakeResponse{"PATCH /v1/console/users/vera": {200, `{"name":"vera","role":"operator","created_at":"2025-03-01T12:00:00Z"}`}},
			wantRequests: []string{`PATCH /v1/console/users/vera {"role":"operator"}`},
			wantStdout:   "console user vera is now operator\n",
		},
		{
			name:         "console user rm",
			args:         []string{"console", "user", "rm", "vera"},
			responses:    map[string]fakeResponse{"DELETE /v1/console/users/vera": {204, ""}},
			wantRequests: []string{"DELETE /v1/console/users/vera"},
			wantStdout:   "removed console user vera\n",
		},
		{
			name:         "keys ls",
			args:         []string{"keys", "ls"},
			responses:    map[string]fakeResponse{"GET /v1/keys": {200, keysJSON}},
			wantRequests: []string{"GET /v1/keys"},
			wantStdout: "" +
				"NAME    FUNCTIONS   SCOPES  CREATED               EXPIRES               STATUS\n" +
				"ci      hello,echo  -       2025-03-01T12:00:00Z  never                 active\n" +
				"leaked  echo        -       2025-03-01T12:00:00Z  never                 revoked\n" +
				"long    echo        -       2025-03-01T12:00:00Z  2999-01-01T00:00:00Z  active\n" +
				"old     hello       -       2024-01-01T00:00:00Z  2024-02-01T00:00:00Z  expired\n",
		},
		{
			name:           "keys ls --format json",
			args:           []string{"keys", "ls", "--format", "json"},
			responses:      map[string]fakeResponse{"GET /v1/keys": {200, `{"keys": [{"name": "ci", "functions": ["hello"], "created_at": "2025-03-01T12:00:00Z", "revoked": false}]}`}},
			wantRequests:   []string{"GET /v1/keys"},
			wantStdoutJSON: `{"keys": [{"name": "ci", "functions": ["hello"], "created_at": "2025-03-01T12:00:00Z", "revoked": false}]}`,
		},
		{
			name: "keys update",
			args: []string{"keys", "update", "ci", "--add-functions", "notes, echo", "--remove-functions=hello"},
			responses: map[string]fakeResponse{
				"PATCH /v1/keys/ci": {200, `{"name": "ci", "functions": ["echo", "notes"], "created_at": "2025-03-01T12:00:00Z", "revoked": false}`},
			},
			wantRequests: []string{`PATCH /v1/keys/ci {"add_functions":["notes","echo"],"remove_functions":["hello"]}`},
			wantStdout:   "key ci may call echo, notes\n",
		},
		{
			name:         "keys revoke",
			args:         []string{"keys", "revoke", "ci"},
			responses:    map[string]fakeResponse{"DELETE /v1/keys/ci": {204, ""}},
			wantRequests: []string{"DELETE /v1/keys/ci"},
			wantStdout:   "revoked key ci\n",
		},
		{
			name:         "keys revoke of a missing key",
			args:         []string{"keys", "revoke", "ci"},
			wantRequests: []string{"DELETE /v1/keys/ci"},
			wantStderr:   "pave: not found (code not_found, request req-404)\n",
			wantCode:     1,
		},
		{
			name: "rejected token",
			args: []string{"keys", "ls"},
			responses: map[string]fakeResponse{
				"GET /v1/keys": {401, `{"error":{"code":"unauthenticated","message":"invalid admin token","request_id":"req-9"}}`},
			},
			wantRequests: []string{"GET /v1/keys"},
			wantStderr:   "pave: invalid admin token (code unauthenticated, request req-9)\n",
			wantCode:     1,
		},
	}
	runAPICases(t, tests)
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("not JSON: %v", err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("test's JSON: %v", err)
	}
	return reflect.DeepEqual(x, y)
}

// TestClientFromDataDir checks that a client command finds the daemon
// through the files in its data directory, named by --data or PAVE_DATA.
func TestClientFromDataDir(t *testing.T) {
	_, env := startFakeAPI(t, map[string]fakeResponse{
		"GET /v1/keys": {200, `{"keys": []}`},
	})
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("admin.url", env["PAVE_ADMIN_URL"]+"\n", 0o644)
	write("admin.token", adminToken+"\n", 0o600)

	for _, run := range []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{}, []string{"keys", "ls", "--data", dir}},
		{map[string]string{"PAVE_DATA": dir}, []string{"keys", "ls"}},
	} {
		_, stderr, code := runPave(t, run.env, "", run.args...)
		if code != 0 || stderr != "no API keys; create one with 'pave keys create NAME --functions FN'\n" {
			t.Errorf("pave %v with %v: exit %d, stderr %q", run.args, run.env, code, stderr)
		}
	}
}

func TestDeploy(t *testing.T) {
	module := []byte("\x00asm\x01\x00\x00\x00")
	digest := "sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"
	helloYAML := "name: hello\nowner: team-a\nmodule: hello.wasm\nroutes:\n  - method: GET\n    path: /hello\n"
	echoYAML := "name: echo\nowner: team-b\nmodule: ../bin/echo.wasm\nroutes:\n  - method: POST\n    path: /echo\n    public: true\n"

	t.Chdir(t.TempDir())
	for name, content := range map[string]string{
		"hello/pave.yaml":  helloYAML,
		"hello/hello.wasm": string(module),
		"echo/echo.yaml":   echoYAML,
		"bin/echo.wasm":    string(module),
		"bad/pave.yaml":    "name: Bad\nowner: team-a\nmodule: x.wasm\nroutes:\n  - method: FETCH\n    path: /x\n",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	deployRequest := func(manifest, file string) string {
		b, _ := json.Marshal(map[string]string{"digest": digest, "manifest": manifest, "manifest_file": file})
		return "POST /v1/functions " + string(b)
	}
	t.Run("directory and file", func(t *testing.T) {
		api, env := startFakeAPI(t, map[string]fakeResponse{
			"HEAD /v1/blobs/" + digest: {404, ""},
			"PUT /v1/blobs/" + digest:  {201, ""},
			"POST /v1/functions": {201, `{"name": "hello", "version": 3, "digest": "` + digest + `",
				"routes": [{"method": "GET", "path": "/hello", "auth": "api-key"}, {"method": "POST", "path": "/hello", "public": true}]}`},
		})
		stdout, stderr, code := runPave(t, env, "", "deploy", "hello", "echo/echo.yaml")
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		wantRequests := []string{
			"HEAD /v1/blobs/" + digest,
			"PUT /v1/blobs/" + digest + " <application/wasm, 8 bytes>",
			deployRequest(helloYAML, "hello/pave.yaml"),
			"HEAD /v1/blobs/" + digest,
			"PUT /v1/blobs/" + digest + " <application/wasm, 8 bytes>",
			deployRequest(echoYAML, "echo/echo.yaml"),
		}
		if got := api.recorded(); !slices.Equal(got, wantRequests) {
			t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
		}
		// The fake answers every deploy alike.
		once := "deployed hello version 3 (sha256:93a44bbb96c7)\n  GET   /hello  api-key\n  POST  /hello  public\n"
		if stdout != once+once {
			t.Errorf("stdout:\n%s\nwant:\n%s", stdout, once+once)
		}
	})
	t.Run("stored module is not uploaded", func(t *testing.T) {
		api, env := startFakeAPI(t, map[string]fakeResponse{
			"HEAD /v1/blobs/" + digest: {200, ""},
			"POST /v1/functions":       {201, `{"name": "hello", "version": 4, "digest": "` + digest + `", "routes": []}`},
		})
		t.Chdir("hello")
		stdout, stderr, code := runPave(t, env, "", "deploy")
		if code != 0 || stderr != "" || stdout != "deployed hello version 4 (sha256:93a44bbb96c7)\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		wantRequests := []string{"HEAD /v1/blobs/" + digest, deployRequest(helloYAML, "pave.yaml")}
		if got := api.recorded(); !slices.Equal(got, wantRequests) {
			t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
		}
	})
	t.Run("invalid manifest stops everything", func(t *testing.T) {
		api, env := startFakeAPI(t, nil)
		stdout, stderr, code := runPave(t, env, "", "deploy", "hello", "bad")
		want := "pave: bad/pave.yaml:1:7: name: invalid name \"Bad\": use 1 to 63 lowercase letters, digits and '-', starting with a letter\n" +
			"pave: bad/pave.yaml:5:13: routes[0].method: unsupported method \"FETCH\": use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS\n"
		if code != 1 || stdout != "" || stderr != want {
			t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
		}
		if got := api.recorded(); len(got) > 0 {
			t.Errorf("requests made: %q", got)
		}
	})
	t.Run("directory without a manifest", func(t *testing.T) {
		_, env := startFakeAPI(t, nil)
		_, stderr, code := runPave(t, env, "", "deploy", "bin")
		if want := "pave: no pave.yaml in bin\n"; code != 1 || stderr != want {
			t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
		}
	})
	t.Run("build prints the module", func(t *testing.T) {
		stdout, stderr, code := runPave(t, noDaemon(t), "", "build", "hello")
		want := filepath.Join("hello", "hello.wasm") + "  8 B  " + digest + "\n"
		if code != 0 || stderr != "" || stdout != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
		}
	})
}

func TestReadBody(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "body.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		data, stdin string
		want        string
		wantErr     bool
	}{
		{data: "", want: ""},
		{data: "plain text", want: "plain text"},
		{data: "@-", stdin: "from stdin", want: "from stdin"},
		{data: "@" + file, want: `{"from":"file"}`},
		{data: "@" + filepath.Join(dir, "missing"), wantErr: true},
	}
	for _, tt := range tests {
		got, err := readBody(tt.data, strings.NewReader(tt.stdin))
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("readBody(%q) = %q, %v; want %q (error: %v)", tt.data, got, err, tt.want, tt.wantErr)
		}
	}
}

// apiCase is a command run against the fake admin API, and what it should
// send and print.
type apiCase struct {
	name      string
	args      []string
	stdin     string
	responses map[string]fakeResponse
	// wantRequests are the requests made, as fakeAPI records them.
	wantRequests []string
	// wantQueries, if set, are the requests' query strings.
	wantQueries []string
	wantStdout  string
	// wantStdoutJSON, if set, is compared to stdout as JSON instead.
	wantStdoutJSON string
	wantStderr     string
	wantCode       int
}

func runAPICases(t *testing.T, tests []apiCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, env := startFakeAPI(t, tt.responses)
			stdout, stderr, code := runPave(t, env, tt.stdin, tt.args...)

			if got := api.recorded(); !slices.Equal(got, tt.wantRequests) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantRequests, "\n"))
			}
			if got := api.recordedQueries(); tt.wantQueries != nil && !slices.Equal(got, tt.wantQueries) {
				t.Errorf("queries %q, want %q", got, tt.wantQueries)
			}
			if tt.wantStdoutJSON != "" {
				if !jsonEqual(t, stdout, tt.wantStdoutJSON) {
					t.Errorf("stdout:\n%s\nwant the JSON\n%s", stdout, tt.wantStdoutJSON)
				}
			} else if stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tt.wantStderr)
			}
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d", code, tt.wantCode)
			}
		})
	}
}

// usageCase is a wrong command line and the error it gets, after "pave: ".
type usageCase struct {
	args       []string
	wantStderr string
}

// runUsageErrors checks that each wrong command line is refused with exit
// status 2 and its error, before anything is sent to the daemon.
func runUsageErrors(t *testing.T, tests []usageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api, env := startFakeAPI(t, nil)
			stdout, stderr, code := runPave(t, env, "", tt.args...)
			want := "pave: " + tt.wantStderr + "\n"
			if code != 2 || stderr != want || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr\n%s\nwant exit 2, nothing on stdout, stderr\n%s", code, stdout, stderr, want)
			}
			if got := api.recorded(); len(got) > 0 {
				t.Errorf("requests made: %q", got)
			}
		})
	}
}
