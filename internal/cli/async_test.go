package cli

import (
	"testing"
)

var (
	// doneCallJSON is a call that succeeded on its second attempt and
	// whose result was delivered to its callback.
	doneCallJSON = `{"id": "c_01jq", "function": "hello", "route": "POST /hello", "caller": "key:ci", "state": "succeeded",
		"attempts": 2, "submitted": "2025-03-02T09:00:00Z", "updated": "2025-03-02T11:00:03+02:00",
		"result": {"status": 200, "headers": [{"name": "Content-Type", "value": "text/plain"}, {"name": "X-Trace", "value": "a\u001b[2Jb"}],
			"body": "aGVsbG8sIEFkYQ=="},
		"callback": {"url": "https://hooks.example.com/done", "delivered": true, "attempts": 1, "at": "2025-03-02T09:00:04Z"}}`
	// retryingCallJSON is a call waiting for its third attempt, whose
	// last attempt answered 503 with a long binary body.
	retryingCallJSON = `{"id": "c_02kr", "function": "hello", "route": "topic orders.created", "state": "retrying",
		"attempts": 2, "submitted": "2025-03-02T09:00:00Z", "updated": "2025-03-02T09:00:05Z", "next_attempt": "2025-03-02T09:00:09Z",
		"error": {"code": "function_failed", "message": "the function answered 503"},
		"result": {"status": 503, "body": "AAECA/8=", "truncated": true},
		"callback": {"url": "https://hooks.example.com/done", "delivered": false, "attempts": 3, "error": "POST https://hooks.example.com/done:\nconnection refused"}}`
	// queuedCallJSON is a call that has not run yet.
	queuedCallJSON = `{"id": "c_03", "function": "hello", "route": "schedule */5 * * * *", "state": "queued",
		"attempts": 0, "submitted": "2025-03-02T09:00:00Z", "updated": "2025-03-02T09:00:00Z"}`

	// deadJSON lists two dead letters as the admin API does, with the
	// parts of their jobs that the CLI does not show.
	deadJSON = `[
		{"sequence": 3, "at": "2025-03-02T10:00:00Z", "attempts": 4,
			"error": {"code": "function_failed", "message": "the function answered 500:\n  the ledger refused the order because its account was closed last week"},
			"job": {"id": "c_01jq", "function": "hello", "route": "POST /hello", "caller": "key:ci", "depth": 1,
				"digest": "sha256:00", "submitted": "2025-03-02T09:00:00Z", "request": {"method": "POST", "path": "/hello"}}},
		{"sequence": 12, "at": "2025-03-02T10:05:00Z", "attempts": 0,
			"error": {"code": "invalid_event", "message": "data does not match the schema"},
			"job": {"id": "e_9f", "function": "hello", "route": "topic orders.created", "trigger": "topic:orders.created",
				"submitted": "2025-03-02T10:05:00Z"}}
	]`
	// deadOneJSON is one dead letter with only what the client decodes.
	deadOneJSON = `[{"sequence": 12, "at": "2025-03-02T10:05:00Z", "attempts": 0,
		"error": {"code": "invalid_event", "message": "data does not match the schema"},
		"job": {"id": "e_9f", "function": "hello", "route": "topic orders.created", "trigger": "topic:orders.created",
			"submitted": "2025-03-02T10:05:00Z"}}]`
)

func TestAsyncCommands(t *testing.T) {
	tests := []apiCase{
		{
			name:         "call get of a call that succeeded",
			args:         []string{"call", "get", "c_01jq"},
			responses:    map[string]fakeResponse{"GET /v1/calls/c_01jq": {200, doneCallJSON}},
			wantRequests: []string{"GET /v1/calls/c_01jq"},
			wantStdout: "" +
				"id         c_01jq\n" +
				"function   hello\n" +
				"route      POST /hello\n" +
				"caller     key:ci\n" +
				"state      succeeded\n" +
				"attempts   2\n" +
				"submitted  2025-03-02T09:00:00Z\n" +
				"updated    2025-03-02T09:00:03Z\n" +
				"callback   https://hooks.example.com/done\n" +
				"delivered  yes, at 2025-03-02T09:00:04Z (1 attempt)\n" +
				"\n" +
				"result 200 OK\n" +
				"  Content-Type: text/plain\n" +
				`  X-Trace: "a\x1b[2Jb"` + "\n" +
				"\n" +
				"hello, Ada\n",
		},
		{
			name:         "call get of a call being retried",
			args:         []string{"call", "get", "c_02kr"},
			responses:    map[string]fakeResponse{"GET /v1/calls/c_02kr": {200, retryingCallJSON}},
			wantRequests: []string{"GET /v1/calls/c_02kr"},
			wantStdout: "" +
				"id              c_02kr\n" +
				"function        hello\n" +
				"route           topic orders.created\n" +
				"caller          -\n" +
				"state           retrying\n" +
				"attempts        2\n" +
				"submitted       2025-03-02T09:00:00Z\n" +
				"updated         2025-03-02T09:00:05Z\n" +
				"next attempt    2025-03-02T09:00:09Z\n" +
				"error           function_failed: the function answered 503\n" +
				"callback        https://hooks.example.com/done\n" +
				"delivered       no (3 attempts)\n" +
				"callback error  POST https://hooks.example.com/done: connection refused\n" +
				"\n" +
				"result 503 Service Unavailable\n" +
				"\n" +
				"5 bytes (binary)\n" +
				"(truncated)\n",
		},
		{
			name:         "call get of a queued call",
			args:         []string{"call", "get", "c_03"},
			responses:    map[string]fakeResponse{"GET /v1/calls/c_03": {200, queuedCallJSON}},
			wantRequests: []string{"GET /v1/calls/c_03"},
			wantStdout: "" +
				"id         c_03\n" +
				"function   hello\n" +
				"route      schedule */5 * * * *\n" +
				"caller     -\n" +
				"state      queued\n" +
				"attempts   0\n" +
				"submitted  2025-03-02T09:00:00Z\n" +
				"updated    2025-03-02T09:00:00Z\n",
		},
		{
			name:           "call get --format json",
			args:           []string{"call", "get", "c_02kr", "--format", "json"},
			responses:      map[string]fakeResponse{"GET /v1/calls/c_02kr": {200, retryingCallJSON}},
			wantRequests:   []string{"GET /v1/calls/c_02kr"},
			wantStdoutJSON: retryingCallJSON,
		},
		{
			name:           "call get --format json of a call that succeeded",
			args:           []string{"call", "get", "--format", "json", "c_01jq"},
			responses:      map[string]fakeResponse{"GET /v1/calls/c_01jq": {200, doneCallJSON}},
			wantRequests:   []string{"GET /v1/calls/c_01jq"},
			wantStdoutJSON: doneCallJSON,
		},
		{
			name: "call get of a missing call",
			args: []string{"call", "get", "c_nope"},
			responses: map[string]fakeResponse{"GET /v1/calls/c_nope": {404,
				`{"error":{"code":"not_found","message":"no such call","request_id":"req-5"}}`}},
			wantRequests: []string{"GET /v1/calls/c_nope"},
			wantStderr:   "pave: no such call (code not_found, request req-5)\n",
			wantCode:     1,
		},
		{
			name:         "call get escapes the id",
			args:         []string{"call", "get", "../functions"},
			wantRequests: []string{"GET /v1/calls/..%2Ffunctions"},
			wantStderr:   "pave: not found (code not_found, request req-404)\n",
			wantCode:     1,
		},
		{
			name:         "dlq ls",
			args:         []string{"dlq", "ls", "hello"},
			responses:    map[string]fakeResponse{"GET /v1/functions/hello/dlq": {200, deadJSON}},
			wantRequests: []string{"GET /v1/functions/hello/dlq"},
			wantQueries:  []string{"limit=100"},
			wantStdout: "" +
				"SEQ  AT                    ATTEMPTS  CODE             ROUTE                 CALL ID  REASON\n" +
				"3    2025-03-02T10:00:00Z  4         function_failed  POST /hello           c_01jq   the function answered 500: the ledger refused the order...\n" +
				"12   2025-03-02T10:05:00Z  0         invalid_event    topic orders.created  e_9f     data does not match the schema\n",
		},
		{
			name:         "dlq ls --limit",
			args:         []string{"dlq", "ls", "--limit", "2", "hello"},
			responses:    map[string]fakeResponse{"GET /v1/functions/hello/dlq": {200, deadJSON}},
			wantRequests: []string{"GET /v1/functions/hello/dlq"},
			wantQueries:  []string{"limit=2"},
			wantStdout: "" +
				"SEQ  AT                    ATTEMPTS  CODE             ROUTE                 CALL ID  REASON\n" +
				"3    2025-03-02T10:00:00Z  4         function_failed  POST /hello           c_01jq   the function answered 500: the ledger refused the order...\n" +
				"12   2025-03-02T10:05:00Z  0         invalid_event    topic orders.created  e_9f     data does not match the schema\n",
			wantStderr: "the oldest 2 shown; --limit shows more\n",
		},
		{
			name:         "dlq ls with no dead letters",
			args:         []string{"dlq", "ls", "hello"},
			responses:    map[string]fakeResponse{"GET /v1/functions/hello/dlq": {200, `[]`}},
			wantRequests: []string{"GET /v1/functions/hello/dlq"},
			wantStderr:   "no dead letters for hello\n",
		},
		{
			name:           "dlq ls --format json",
			args:           []string{"dlq", "ls", "hello", "--format", "json"},
			responses:      map[string]fakeResponse{"GET /v1/functions/hello/dlq": {200, deadOneJSON}},
			wantRequests:   []string{"GET /v1/functions/hello/dlq"},
			wantStdoutJSON: deadOneJSON,
		},
		{
			name:         "dlq ls --format json with no dead letters is an empty list",
			args:         []string{"dlq", "ls", "--format", "json", "hello"},
			responses:    map[string]fakeResponse{"GET /v1/functions/hello/dlq": {200, `[]`}},
			wantRequests: []string{"GET /v1/functions/hello/dlq"},
			wantStdout:   "[]\n",
		},
		{
			name:         "dlq ls of a missing function escapes its name",
			args:         []string{"dlq", "ls", "a/b"},
			wantRequests: []string{"GET /v1/functions/a%2Fb/dlq"},
			wantStderr:   "pave: not found (code not_found, request req-404)\n",
			wantCode:     1,
		},
		{
			name: "dlq ls where calls are not served",
			args: []string{"dlq", "ls", "hello"},
			responses: map[string]fakeResponse{"GET /v1/functions/hello/dlq": {503,
				`{"error":{"code":"unavailable","message":"asynchronous calls are not served here","request_id":"req-6"}}`}},
			wantRequests: []string{"GET /v1/functions/hello/dlq"},
			wantStderr:   "pave: asynchronous calls are not served here (code unavailable, request req-6)\n",
			wantCode:     1,
		},
		{
			name:         "dlq retry of sequence numbers",
			args:         []string{"dlq", "retry", "hello", "3", "12", "3"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/dlq/retry": {200, `{"redriven": 2}`}},
			wantRequests: []string{`POST /v1/functions/hello/dlq/retry {"sequences":[3,12]}`},
			wantStdout:   "queued 2 dead letters of hello again\n",
		},
		{
			name:         "dlq retry of one",
			args:         []string{"dlq", "retry", "hello", "12"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/dlq/retry": {200, `{"redriven": 1}`}},
			wantRequests: []string{`POST /v1/functions/hello/dlq/retry {"sequences":[12]}`},
			wantStdout:   "queued 1 dead letter of hello again\n",
		},
		{
			name:         "dlq retry --all",
			args:         []string{"dlq", "retry", "--all", "hello"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/dlq/retry": {200, `{"redriven": 7}`}},
			wantRequests: []string{`POST /v1/functions/hello/dlq/retry {"all":true}`},
			wantStdout:   "queued 7 dead letters of hello again\n",
		},
		{
			name:         "dlq retry --all with none",
			args:         []string{"dlq", "retry", "hello", "--all"},
			responses:    map[string]fakeResponse{"POST /v1/functions/hello/dlq/retry": {200, `{"redriven": 0}`}},
			wantRequests: []string{`POST /v1/functions/hello/dlq/retry {"all":true}`},
			wantStdout:   "no dead letters for hello; none queued\n",
		},
		{
			name: "dlq retry of a sequence number that is not dead",
			args: []string{"dlq", "retry", "hello", "3", "4"},
			responses: map[string]fakeResponse{"POST /v1/functions/hello/dlq/retry": {404,
				`{"error":{"code":"not_found","message":"not a dead letter of the function: 4 (1 re-driven before it)","request_id":"req-7"}}`}},
			wantRequests: []string{`POST /v1/functions/hello/dlq/retry {"sequences":[3,4]}`},
			wantStderr:   "pave: not a dead letter of the function: 4 (1 re-driven before it) (code not_found, request req-7)\n",
			wantCode:     1,
		},
	}
	runAPICases(t, tests)
}

// TestAsyncCommandLineErrors checks that a wrong command line is refused
// with exit status 2 before anything is sent to the daemon.
func TestAsyncCommandLineErrors(t *testing.T) {
	const seeRetry = " (see 'pave dlq retry --help')"
	tests := []usageCase{
		{[]string{"call", "nope"}, `unknown command "call nope" (see 'pave call --help')`},
		{[]string{"call", "get"}, `call get: want ID, got 0 arguments (see 'pave call get --help')`},
		{[]string{"call", "get", "a", "b"}, `call get: want ID, got 2 arguments (see 'pave call get --help')`},
		{[]string{"dlq", "nope"}, `unknown command "dlq nope" (see 'pave dlq --help')`},
		{[]string{"dlq", "ls"}, `dlq ls: want NAME, got 0 arguments (see 'pave dlq ls --help')`},
		{[]string{"dlq", "ls", "hello", "--limit", "0"}, `dlq ls: --limit must be from 1 to 1000 (see 'pave dlq ls --help')`},
		{[]string{"dlq", "ls", "hello", "--limit", "1001"}, `dlq ls: --limit must be from 1 to 1000 (see 'pave dlq ls --help')`},
		{[]string{"dlq", "ls", "hello", "--limit", "many"}, `dlq ls: invalid value "many" for flag -limit: parse error (see 'pave dlq ls --help')`},
		{[]string{"dlq", "retry"}, `dlq retry: want NAME [SEQ...], got 0 arguments` + seeRetry},
		{[]string{"dlq", "retry", "--all"}, `dlq retry: want NAME [SEQ...], got 0 arguments` + seeRetry},
		{[]string{"dlq", "retry", "hello"}, `dlq retry: name the dead letters to retry by their sequence numbers (SEQ in 'pave dlq ls hello'), or pass --all` + seeRetry},
		{[]string{"dlq", "retry", "hello", "3", "--all"}, `dlq retry: give sequence numbers or --all, not both` + seeRetry},
		{[]string{"dlq", "retry", "hello", "3", "x7"}, `dlq retry: SEQ "x7": want a sequence number, 1 or more` + seeRetry},
		{[]string{"dlq", "retry", "hello", "--", "-3"}, `dlq retry: SEQ "-3": want a sequence number, 1 or more` + seeRetry},
		{[]string{"dlq", "retry", "hello", "0"}, `dlq retry: SEQ "0": want a sequence number, 1 or more` + seeRetry},
		{[]string{"dlq", "retry", "hello", "1.5"}, `dlq retry: SEQ "1.5": want a sequence number, 1 or more` + seeRetry},
		{[]string{"dlq", "retry", "hello", "18446744073709551616"}, `dlq retry: SEQ "18446744073709551616": want a sequence number, 1 or more` + seeRetry},
	}
	runUsageErrors(t, tests)
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"cut between the words here", 20, "cut between the..."},
		{"averyveryverylongword tail", 12, "averyvery..."},
		{"héllo wörld ünïcode", 12, "héllo wör..."},
		{"héllo wörld ünïcode", 15, "héllo wörld..."},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if got := clip(tt.in, tt.n); len([]rune(got)) > tt.n {
			t.Errorf("clip(%q, %d) = %q is longer than %d", tt.in, tt.n, got, tt.n)
		}
	}
}

func TestIsText(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"hello\n", true},
		{"{\"a\": 1}\r\n\tb", true},
		{"ünïcode ✓", true},
		{"\xff\xfe", false},
		{"\x00asm", false},
		{"red \x1b[31mtext", false},
		{"bell\a", false},
	}
	for _, tt := range tests {
		if got := isText([]byte(tt.in)); got != tt.want {
			t.Errorf("isText(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
