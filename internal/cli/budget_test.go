package cli

import (
	"strings"
	"testing"
	"time"
)

var (
	// budgetsJSON lists budgets of every source, out of order. hello's
	// window started at midnight UTC, written in another time zone.
	budgetsJSON = `{"budgets": [
		{"subject": "owner:team-a", "source": "override", "budget": {"window": "month", "compute_gb_seconds": 1000},
			"spent": {"window": "month", "compute_gb_seconds": 12.5}, "window_start": "2025-12-01T00:00:00Z"},
		{"subject": "function:hello", "source": "manifest", "budget": {"window": "day", "invocations": 1000, "request_bytes": 1073741824},
			"spent": {"window": "day", "invocations": 12, "compute_gb_seconds": 0.001, "request_bytes": 1572864}, "window_start": "2025-03-31T02:00:00+02:00"},
		{"subject": "function:echo", "source": "default", "budget": {"window": "day", "invocations": 100000}}
	]}`
	setHelloJSON = `{"subject": "function:hello", "source": "override",
		"budget": {"window": "day", "invocations": 1000, "compute_gb_seconds": 2.5, "request_bytes": 1073741824},
		"spent": {"window": "day", "invocations": 1200}, "window_start": "2025-03-01T00:00:00Z"}`
	setOwnerJSON = `{"subject": "owner:team-a", "source": "override", "budget": {"window": "month", "invocations": 5}}`
)

func TestBudgetCommands(t *testing.T) {
	tests := []apiCase{
		{
			name:         "ls",
			args:         []string{"budget", "ls"},
			responses:    map[string]fakeResponse{"GET /v1/budgets": {200, budgetsJSON}},
			wantRequests: []string{"GET /v1/budgets"},
			wantStdout: "" +
				"SUBJECT         SOURCE    WINDOW  INVOCATIONS  COMPUTE         REQUEST BYTES  RESETS\n" +
				"function:echo   default   day     0/100000     0/-             0 B/-          -\n" +
				"function:hello  manifest  day     12/1000      <0.01/-         1.5 MiB/1 GiB  2025-04-01T00:00:00Z\n" +
				"owner:team-a    override  month   0/-          12.5/1000 GB-s  0 B/-          2026-01-01T00:00:00Z\n",
		},
		{
			name:         "ls with no budgets",
			args:         []string{"budget", "ls"},
			responses:    map[string]fakeResponse{"GET /v1/budgets": {200, `{"budgets": []}`}},
			wantRequests: []string{"GET /v1/budgets"},
			wantStderr:   "no budgets; deploy a function, or set one with 'pave budget set NAME --invocations N'\n",
		},
		{
			name:           "ls --format json",
			args:           []string{"budget", "ls", "--format", "json"},
			responses:      map[string]fakeResponse{"GET /v1/budgets": {200, `{"budgets": [` + setOwnerJSON + `]}`}},
			wantRequests:   []string{"GET /v1/budgets"},
			wantStdoutJSON: `{"budgets": [` + setOwnerJSON + `]}`,
		},
		{
			name:         "ls --format json with no budgets is an empty list",
			args:         []string{"budget", "ls", "--format", "json"},
			responses:    map[string]fakeResponse{"GET /v1/budgets": {200, `{}`}},
			wantRequests: []string{"GET /v1/budgets"},
			wantStdout:   "{\n  \"budgets\": []\n}\n",
		},
		{
			name:      "set a function by its name",
			args:      []string{"budget", "set", "hello", "--invocations", "1000", "--compute", "2.5", "--request-bytes", "1GiB"},
			responses: map[string]fakeResponse{"PUT /v1/budgets/function:hello": {200, setHelloJSON}},
			wantRequests: []string{
				`PUT /v1/budgets/function:hello {"compute_gb_seconds":2.5,"invocations":1000,"request_bytes":1073741824,"window":"day"}`,
			},
			wantStdout: "" +
				"SUBJECT         SOURCE    WINDOW  INVOCATIONS  COMPUTE     REQUEST BYTES  RESETS\n" +
				"function:hello  override  day     1200/1000    0/2.5 GB-s  0 B/1 GiB      2025-03-02T00:00:00Z\n",
		},
		{
			name:         "set function:NAME",
			args:         []string{"budget", "set", "--request-bytes=512MiB", "function:hello"},
			responses:    map[string]fakeResponse{"PUT /v1/budgets/function:hello": {200, setHelloJSON}},
			wantRequests: []string{`PUT /v1/budgets/function:hello {"request_bytes":536870912,"window":"day"}`},
			wantStdout: "" +
				"SUBJECT         SOURCE    WINDOW  INVOCATIONS  COMPUTE     REQUEST BYTES  RESETS\n" +
				"function:hello  override  day     1200/1000    0/2.5 GB-s  0 B/1 GiB      2025-03-02T00:00:00Z\n",
		},
		{
			name:         "set owner:NAME by the month",
			args:         []string{"budget", "set", "owner:team-a", "--window", "month", "--invocations", "5"},
			responses:    map[string]fakeResponse{"PUT /v1/budgets/owner:team-a": {200, setOwnerJSON}},
			wantRequests: []string{`PUT /v1/budgets/owner:team-a {"invocations":5,"window":"month"}`},
			wantStdout: "" +
				"SUBJECT       SOURCE    WINDOW  INVOCATIONS  COMPUTE  REQUEST BYTES  RESETS\n" +
				"owner:team-a  override  month   0/5          0/-      0 B/-          -\n",
		},
		{
			name: "set refused by the daemon",
			args: []string{"budget", "set", "Hello", "--invocations", "5"},
			responses: map[string]fakeResponse{"PUT /v1/budgets/function:Hello": {400,
				`{"error":{"code":"bad_request","message":"invalid budget: subject \"function:Hello\": want function:NAME or owner:NAME","request_id":"req-7"}}`}},
			wantRequests: []string{`PUT /v1/budgets/function:Hello {"invocations":5,"window":"day"}`},
			wantStderr:   "pave: invalid budget: subject \"function:Hello\": want function:NAME or owner:NAME (code bad_request, request req-7)\n",
			wantCode:     1,
		},
		{
			name:         "rm a function by its name",
			args:         []string{"budget", "rm", "hello"},
			responses:    map[string]fakeResponse{"DELETE /v1/budgets/function:hello": {204, ""}},
			wantRequests: []string{"DELETE /v1/budgets/function:hello"},
			wantStdout:   "removed the budget override of function:hello\n",
		},
		{
			name:         "rm owner:NAME",
			args:         []string{"budget", "rm", "owner:team-a"},
			responses:    map[string]fakeResponse{"DELETE /v1/budgets/owner:team-a": {204, ""}},
			wantRequests: []string{"DELETE /v1/budgets/owner:team-a"},
			wantStdout:   "removed the budget override of owner:team-a\n",
		},
		{
			name:         "rm of a subject with no override",
			args:         []string{"budget", "rm", "function:hello"},
			wantRequests: []string{"DELETE /v1/budgets/function:hello"},
			wantStderr:   "pave: not found (code not_found, request req-404)\n",
			wantCode:     1,
		},
	}
	runAPICases(t, tests)
}

// TestBudgetCommandLineErrors checks that a wrong command line is refused
// with exit status 2 before anything is sent to the daemon.
func TestBudgetCommandLineErrors(t *testing.T) {
	const seeSet = " (see 'pave budget set --help')"
	tests := []usageCase{
		{[]string{"budget", "nope"}, `unknown command "budget nope" (see 'pave budget --help')`},
		{[]string{"budget", "ls", "extra"}, `budget ls: takes no arguments, got "extra" (see 'pave budget ls --help')`},
		{[]string{"budget", "rm"}, `budget rm: want SUBJECT, got 0 arguments (see 'pave budget rm --help')`},
		{[]string{"budget", "rm", "team:x"}, `budget rm: SUBJECT "team:x": want a function NAME, function:NAME or owner:NAME (see 'pave budget rm --help')`},
		{[]string{"budget", "set", "--invocations", "5"}, `budget set: want SUBJECT, got 0 arguments` + seeSet},
		{[]string{"budget", "set", "a", "b", "--invocations", "5"}, `budget set: want SUBJECT, got 2 arguments` + seeSet},
		{[]string{"budget", "set", "hello"}, `budget set: set at least one cap: --invocations, --compute or --request-bytes` + seeSet},
		{[]string{"budget", "set", "hello", "--window", "month"}, `budget set: set at least one cap: --invocations, --compute or --request-bytes` + seeSet},
		{[]string{"budget", "set", "hello", "--invocations", "0", "--request-bytes", "0B"}, `budget set: set at least one cap: --invocations, --compute or --request-bytes` + seeSet},
		{[]string{"budget", "set", "hello", "--window", "week", "--invocations", "5"}, `budget set: --window "week": want day or month` + seeSet},
		{[]string{"budget", "set", "hello", "--window", "", "--invocations", "5"}, `budget set: --window "": want day or month` + seeSet},
		{[]string{"budget", "set", "hello", "--invocations", "-1"}, `budget set: --invocations -1: want a positive number` + seeSet},
		{[]string{"budget", "set", "hello", "--invocations", "many"}, `budget set: invalid value "many" for flag -invocations: parse error` + seeSet},
		{[]string{"budget", "set", "hello", "--compute", "-0.5"}, `budget set: --compute -0.5: want a positive number of GB-seconds` + seeSet},
		{[]string{"budget", "set", "hello", "--compute", "NaN"}, `budget set: --compute NaN: want a positive number of GB-seconds` + seeSet},
		{[]string{"budget", "set", "hello", "--compute", "+Inf"}, `budget set: --compute +Inf: want a positive number of GB-seconds` + seeSet},
		{[]string{"budget", "set", "hello", "--request-bytes", "1GB"}, `budget set: --request-bytes: invalid size "1GB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"` + seeSet},
		// A manifest refuses TiB, and so does the command line.
		{[]string{"budget", "set", "hello", "--request-bytes", "1TiB"}, `budget set: --request-bytes: invalid size "1TiB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"` + seeSet},
		{[]string{"budget", "set", "hello", "--request-bytes", "-1GiB"}, `budget set: --request-bytes: invalid size "-1GiB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"` + seeSet},
		{[]string{"budget", "set", "hello", "--request-bytes", "99999999999GiB"}, `budget set: --request-bytes: invalid size "99999999999GiB": too large for a number of bytes` + seeSet},
		{[]string{"budget", "set", "", "--invocations", "5"}, `budget set: SUBJECT "": want a function NAME, function:NAME or owner:NAME` + seeSet},
		{[]string{"budget", "set", "owner:", "--invocations", "5"}, `budget set: SUBJECT "owner:": want a function NAME, function:NAME or owner:NAME` + seeSet},
		{[]string{"budget", "set", "function:", "--invocations", "5"}, `budget set: SUBJECT "function:": want a function NAME, function:NAME or owner:NAME` + seeSet},
		{[]string{"budget", "set", "team:x", "--invocations", "5"}, `budget set: SUBJECT "team:x": want a function NAME, function:NAME or owner:NAME` + seeSet},
	}
	runUsageErrors(t, tests)
}

func TestBudgetSetHelp(t *testing.T) {
	stdout, _, code := runPave(t, noDaemon(t), "", "budget", "set", "--help")
	for _, want := range []string{
		"Usage: pave budget set [flags] SUBJECT",
		"owner:NAME",
		"wins over the budget in the function's manifest and over the daemon's default",
		"re-opens",
		"audit log",
		"-request-bytes SIZE",
		"-window WINDOW",
	} {
		// The help is wrapped, so compare with every run of spaces and
		// newlines as one space.
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
	if code != 0 {
		t.Errorf("exit status %d", code)
	}
}

func TestKeysLsScopesAndNetworks(t *testing.T) {
	tests := []struct {
		name       string
		keys       string
		wantStdout string
	}{
		{
			name: "scopes, no networks",
			keys: `{"keys": [
				{"name": "ci", "functions": ["hello"], "scopes": ["read", "write"], "created_at": "2025-03-01T12:00:00Z"},
				{"name": "ops", "functions": ["echo"], "created_at": "2025-03-01T12:00:00Z"}
			]}`,
			wantStdout: "" +
				"NAME  FUNCTIONS  SCOPES      CREATED               EXPIRES  STATUS\n" +
				"ci    hello      read,write  2025-03-01T12:00:00Z  never    active\n" +
				"ops   echo       -           2025-03-01T12:00:00Z  never    active\n",
		},
		{
			name: "networks shown when a key has them",
			keys: `{"keys": [
				{"name": "ops", "functions": ["echo"], "created_at": "2025-03-01T12:00:00Z"},
				{"name": "ci", "functions": ["hello"], "scopes": ["read"], "cidrs": ["10.0.0.0/8", "2001:db8::/32"], "created_at": "2025-03-01T12:00:00Z"}
			]}`,
			wantStdout: "" +
				"NAME  FUNCTIONS  SCOPES  NETWORKS                  CREATED               EXPIRES  STATUS\n" +
				"ci    hello      read    10.0.0.0/8,2001:db8::/32  2025-03-01T12:00:00Z  never    active\n" +
				"ops   echo       -       -                         2025-03-01T12:00:00Z  never    active\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, env := startFakeAPI(t, map[string]fakeResponse{"GET /v1/keys": {200, tt.keys}})
			stdout, stderr, code := runPave(t, env, "", "keys", "ls")
			if code != 0 || stderr != "" || stdout != tt.wantStdout {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, stdout, tt.wantStdout)
			}
		})
	}
}

func TestBudgetSubject(t *testing.T) {
	tests := []struct {
		arg, want string
		wantErr   bool
	}{
		{arg: "hello", want: "function:hello"},
		{arg: "function:hello", want: "function:hello"},
		{arg: "owner:team-a", want: "owner:team-a"},
		{arg: "owner:a:b", want: "owner:a:b"}, // the daemon judges the name
		{arg: "", wantErr: true},
		{arg: "owner:", wantErr: true},
		{arg: "function:", wantErr: true},
		{arg: ":hello", wantErr: true},
		{arg: "Function:hello", wantErr: true},
		{arg: "team:x", wantErr: true},
	}
	for _, tt := range tests {
		got, err := budgetSubject(tt.arg)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("budgetSubject(%q) = %q, %v; want %q (error: %v)", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBudgetResets(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	tests := []struct {
		window string
		start  *time.Time
		want   string
	}{
		{"day", at("2025-03-01T00:00:00Z"), "2025-03-02T00:00:00Z"},
		{"day", at("2024-02-28T00:00:00Z"), "2024-02-29T00:00:00Z"},
		{"day", at("2025-12-31T00:00:00Z"), "2026-01-01T00:00:00Z"},
		{"day", at("2025-03-31T20:00:00-04:00"), "2025-04-02T00:00:00Z"}, // 2025-04-01 in UTC
		{"month", at("2025-01-01T00:00:00Z"), "2025-02-01T00:00:00Z"},
		{"month", at("2025-12-01T00:00:00Z"), "2026-01-01T00:00:00Z"},
		{"month", at("2025-01-31T12:00:00Z"), "2025-02-01T00:00:00Z"},
		{"day", nil, "-"},
		{"week", at("2025-03-01T00:00:00Z"), "-"},
	}
	for _, tt := range tests {
		if got := budgetResets(tt.window, tt.start); got != tt.want {
			t.Errorf("budgetResets(%q, %v) = %q, want %q", tt.window, tt.start, got, tt.want)
		}
	}
}

func TestFormatGBs(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.001, "<0.01"}, {0.25, "0.25"}, {2.5, "2.5"}, {10, "10"}, {1234.567, "1234.57"}, {1e9, "1000000000"},
	}
	for _, tt := range tests {
		if got := formatGBs(tt.v); got != tt.want {
			t.Errorf("formatGBs(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func FuzzBudgetSubject(f *testing.F) {
	for _, s := range []string{"hello", "function:hello", "owner:team-a", "owner:", "team:x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		got, err := budgetSubject(arg)
		if err != nil {
			return
		}
		kind, name, _ := strings.Cut(got, ":")
		if (kind != "function" && kind != "owner") || name == "" {
			t.Errorf("budgetSubject(%q) = %q, not a function or owner subject", arg, got)
		}
		if got != arg && got != "function:"+arg {
			t.Errorf("budgetSubject(%q) = %q, which changes the name", arg, got)
		}
	})
}
