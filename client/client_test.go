package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "test-admin-token"

// exchange is one request the fake admin API expects and its answer.
type exchange struct {
	method, path string
	// query is the expected query string, without the '?'.
	query string
	// reqBody is the expected request body: JSON compared by value, or raw
	// bytes when reqType is not application/json. Empty means no body.
	reqBody string
	reqType string

	status      int
	respBody    string
	respType    string // default application/json when respBody is set
	respHeaders map[string]string
}

// fakeAPI serves exchanges in order and records every deviation.
type fakeAPI struct {
	t         *testing.T
	mu        sync.Mutex
	exchanges []exchange
	served    int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.served == len(f.exchanges) {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.EscapedPath())
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := f.exchanges[f.served]
	f.served++

	if got := r.Method + " " + r.URL.EscapedPath(); got != ex.method+" "+ex.path {
		f.t.Errorf("request %d: got %s, want %s %s", f.served, got, ex.method, ex.path)
	}
	if r.URL.RawQuery != ex.query {
		f.t.Errorf("%s %s: query %q, want %q", ex.method, ex.path, r.URL.RawQuery, ex.query)
	}
	auth := r.Header.Get("Authorization")
	if ex.path == "/v1/health" {
		if auth != "" {
			f.t.Errorf("%s sent an Authorization header to the public health route", ex.path)
		}
	} else if auth != "Bearer "+testToken {
		f.t.Errorf("%s %s: Authorization = %q, want the bearer token", ex.method, ex.path, auth)
	}
	body, _ := io.ReadAll(r.Body)
	wantType := ex.reqType
	if wantType == "" && ex.reqBody != "" {
		wantType = "application/json"
	}
	if got := r.Header.Get("Content-Type"); got != wantType {
		f.t.Errorf("%s %s: Content-Type = %q, want %q", ex.method, ex.path, got, wantType)
	}
	switch {
	case wantType == "application/json":
		if !jsonEqual(body, []byte(ex.reqBody)) {
			f.t.Errorf("%s %s: body = %s, want %s", ex.method, ex.path, body, ex.reqBody)
		}
	case string(body) != ex.reqBody:
		f.t.Errorf("%s %s: body = %q, want %q", ex.method, ex.path, body, ex.reqBody)
	}

	for k, v := range ex.respHeaders {
		w.Header().Set(k, v)
	}
	if ex.respBody != "" {
		typ := ex.respType
		if typ == "" {
			typ = "application/json"
		}
		w.Header().Set("Content-Type", typ)
	}
	w.WriteHeader(ex.status)
	io.WriteString(w, ex.respBody)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// newTestClient starts a fake admin API and returns a client of it. The
// test fails if the client does not make exactly the expected requests.
func newTestClient(t *testing.T, exchanges ...exchange) *Client {
	t.Helper()
	api := &fakeAPI{t: t, exchanges: exchanges}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.mu.Lock()
		defer api.mu.Unlock()
		if api.served != len(api.exchanges) {
			t.Errorf("client made %d requests, want %d", api.served, len(api.exchanges))
		}
	})
	return New(srv.URL+"/", testToken, WithHTTPClient(srv.Client()))
}

var (
	testModule = []byte("\x00asm\x01\x00\x00\x00")
	// testDigest is the sha256 of testModule.
	testDigest = "sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"

	deployed = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	functionJSON = `{"name":"hello","owner":"team-a","version":2,"digest":"` + testDigest + `",
		"mode":"reactor","routes":[{"method":"GET","path":"/hello","public":false,"auth":"api-key"}],
		"limits":{"timeout_ms":5000,"memory_bytes":67108864,"concurrency":8,"max_body_bytes":1048576},
		"public":false,"created_at":"2025-03-01T12:00:00Z","updated_at":"2025-03-01T12:00:00Z"}`
	function = &Function{
		Name: "hello", Owner: "team-a", Version: 2, Digest: testDigest, Mode: "reactor",
		Routes:    []Route{{Method: "GET", Path: "/hello", Auth: "api-key"}},
		Limits:    Limits{TimeoutMS: 5000, MemoryBytes: 64 << 20, Concurrency: 8, MaxBodyBytes: 1 << 20},
		CreatedAt: deployed, UpdatedAt: deployed,
	}
	keyJSON = `{"name":"ci","functions":["hello"],"created_at":"2025-03-01T12:00:00Z","revoked":false}`
	key     = Key{Name: "ci", Functions: []string{"hello"}, CreatedAt: deployed}

	budgetJSON = `{"subject":"function:hello","source":"override",
		"budget":{"window":"day","invocations":1000,"compute_gb_seconds":2.5,"request_bytes":1073741824},
		"spent":{"window":"day","invocations":12,"compute_gb_seconds":0.25,"request_bytes":4096},
		"window_start":"2025-03-01T00:00:00Z"}`
	windowStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	budget      = BudgetStatus{
		Subject: "function:hello", Source: "override",
		Budget:      Budget{Window: "day", Invocations: 1000, ComputeGBSeconds: 2.5, RequestBytes: 1 << 30},
		Spent:       &Budget{Window: "day", Invocations: 12, ComputeGBSeconds: 0.25, RequestBytes: 4096},
		WindowStart: &windowStart,
	}
	ownerBudgetJSON = `{"subject":"owner:a/b c","source":"override","budget":{"window":"month","invocations":5}}`
	ownerBudget     = BudgetStatus{Subject: "owner:a/b c", Source: "override", Budget: Budget{Window: "month", Invocations: 5}}

	callJSON = `{"id":"c_01","function":"hello","route":"POST /hello","caller":"key:ci","state":"retrying","attempts":2,
		"submitted":"2025-03-01T12:00:00Z","updated":"2025-03-01T12:00:00Z","next_attempt":"2025-03-01T12:00:04Z",
		"result":{"status":503,"headers":[{"name":"Retry-After","value":"4"}],"body":"YnVzeQ==","truncated":true},
		"error":{"code":"function_failed","message":"the function answered 503"},
		"callback":{"url":"https://hooks.example.com/done","delivered":false,"attempts":1,"error":"connection refused"},
		"digest":"sha256:00"}`
	nextAttempt = deployed.Add(4 * time.Second)
	call        = &Call{
		ID: "c_01", Function: "hello", Route: "POST /hello", Caller: "key:ci", State: "retrying", Attempts: 2,
		Submitted: deployed, Updated: deployed, NextAttempt: &nextAttempt,
		Result:   &CallResult{Status: 503, Headers: []CallHeader{{Name: "Retry-After", Value: "4"}}, Body: []byte("busy"), Truncated: true},
		Error:    &CallError{Code: "function_failed", Message: "the function answered 503"},
		Callback: &CallCallback{URL: "https://hooks.example.com/done", Attempts: 1, Error: "connection refused"},
	}
	deadLetterJSON = `{"sequence":7,"at":"2025-03-01T12:00:00Z","error":{"code":"invalid_event","message":"data does not match the schema"},
		"attempts":0,"job":{"id":"e_1","function":"hello","route":"topic orders.created","trigger":"topic:orders.created",
		"submitted":"2025-03-01T12:00:00Z","depth":1,"request":{"method":"POST"}}}`
	deadLetter = DeadLetter{
		Sequence: 7, At: deployed, Error: CallError{Code: "invalid_event", Message: "data does not match the schema"},
		Job: DeadJob{ID: "e_1", Function: "hello", Route: "topic orders.created", Trigger: "topic:orders.created", Submitted: deployed},
	}
)

func TestClientCalls(t *testing.T) {
	tests := []struct {
		name      string
		call      func(context.Context, *Client) (any, error)
		exchanges []exchange
		want      any
	}{
		{
			name: "Health",
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Health(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/health", status: 200, respBody: `{"status":"ok"}`},
			},
		},
		{
			name: "HasBlob stored",
			call: func(ctx context.Context, c *Client) (any, error) { return c.HasBlob(ctx, testDigest) },
			exchanges: []exchange{
				{method: "HEAD", path: "/v1/blobs/" + testDigest, status: 200},
			},
			want: true,
		},
		{
			name: "HasBlob missing",
			call: func(ctx context.Context, c *Client) (any, error) { return c.HasBlob(ctx, testDigest) },
			exchanges: []exchange{
				{method: "HEAD", path: "/v1/blobs/" + testDigest, status: 404},
			},
			want: false,
		},
		{
			name: "PutBlob uploads a new module",
			call: func(ctx context.Context, c *Client) (any, error) { return c.PutBlob(ctx, testModule) },
			exchanges: []exchange{
				{method: "HEAD", path: "/v1/blobs/" + testDigest, status: 404},
				{method: "PUT", path: "/v1/blobs/" + testDigest, reqBody: string(testModule), reqType: "application/wasm", status: 201},
			},
			want: testDigest,
		},
		{
			name: "PutBlob skips a stored module",
			call: func(ctx context.Context, c *Client) (any, error) { return c.PutBlob(ctx, testModule) },
			exchanges: []exchange{
				{method: "HEAD", path: "/v1/blobs/" + testDigest, status: 200},
			},
			want: testDigest,
		},
		{
			name: "Deploy",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Deploy(ctx, DeployRequest{Manifest: "name: hello\n", ManifestFile: "hello/pave.yaml", Digest: testDigest})
			},
			exchanges: []exchange{{
				method: "POST", path: "/v1/functions",
				reqBody: `{"manifest":"name: hello\n","manifest_file":"hello/pave.yaml","digest":"` + testDigest + `"}`,
				status:  201, respBody: functionJSON,
			}},
			want: function,
		},
		{
			name: "ListFunctions",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListFunctions(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/functions", status: 200, respBody: `{"functions":[` + functionJSON + `]}`},
			},
			want: []Function{*function},
		},
		{
			name: "GetFunction escapes the name",
			call: func(ctx context.Context, c *Client) (any, error) { return c.GetFunction(ctx, "a/b c") },
			exchanges: []exchange{
				{method: "GET", path: "/v1/functions/a%2Fb%20c", status: 200, respBody: functionJSON},
			},
			want: function,
		},
		{
			name: "RemoveFunction",
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.RemoveFunction(ctx, "hello") },
			exchanges: []exchange{
				{method: "DELETE", path: "/v1/functions/hello", status: 204},
			},
		},
		{
			name: "Rollback to the previous version",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Rollback(ctx, "hello", 0) },
			exchanges: []exchange{
				{method: "POST", path: "/v1/functions/hello/rollback", reqBody: `{}`, status: 200, respBody: functionJSON},
			},
			want: function,
		},
		{
			name: "Rollback to a given version",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Rollback(ctx, "hello", 1) },
			exchanges: []exchange{
				{method: "POST", path: "/v1/functions/hello/rollback", reqBody: `{"version":1}`, status: 200, respBody: functionJSON},
			},
			want: function,
		},
		{
			name: "Invoke returns the function's error status without an error",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Invoke(ctx, "hello", InvokeRequest{Method: "POST", Body: []byte(`{"a":1}`)})
			},
			exchanges: []exchange{{
				method: "POST", path: "/v1/functions/hello/invoke",
				reqBody: `{"method":"POST","body":"eyJhIjoxfQ=="}`,
				status:  200, respBody: `{"status":500,"headers":{"Content-Type":["text/plain"]},"body":"Ym9vbQ==","request_id":"r1"}`,
			}},
			want: &InvokeResponse{Status: 500, Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("boom"), RequestID: "r1"},
		},
		{
			name: "CreateKey",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateKey(ctx, CreateKeyRequest{Name: "ci", Functions: []string{"hello"}, ExpiresIn: "720h"})
			},
			exchanges: []exchange{{
				method: "POST", path: "/v1/keys",
				reqBody: `{"name":"ci","functions":["hello"],"expires_in":"720h"}`,
				status:  201, respBody: `{"key":` + keyJSON + `,"secret":"pave_s3cret"}`,
			}},
			want: &CreateKeyResponse{Key: key, Secret: "pave_s3cret"},
		},
		{
			name: "ListKeys",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListKeys(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/keys", status: 200, respBody: `{"keys":[` + keyJSON + `]}`},
			},
			want: []Key{key},
		},
		{
			name: "RevokeKey",
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.RevokeKey(ctx, "ci") },
			exchanges: []exchange{
				{method: "DELETE", path: "/v1/keys/ci", status: 204},
			},
		},
		{
			name: "ListBudgets",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListBudgets(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/budgets", status: 200, respBody: `{"budgets":[` + budgetJSON + `,` + ownerBudgetJSON + `]}`},
			},
			want: []BudgetStatus{budget, ownerBudget},
		},
		{
			name: "ListBudgets with none",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListBudgets(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/budgets", status: 200, respBody: `{"budgets":[]}`},
			},
			want: []BudgetStatus{},
		},
		{
			name: "SetBudget",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetBudget(ctx, "function:hello", Budget{Window: "day", Invocations: 1000, ComputeGBSeconds: 2.5, RequestBytes: 1 << 30})
			},
			exchanges: []exchange{{
				method: "PUT", path: "/v1/budgets/function:hello",
				reqBody: `{"window":"day","invocations":1000,"compute_gb_seconds":2.5,"request_bytes":1073741824}`,
				status:  200, respBody: budgetJSON,
			}},
			want: &budget,
		},
		{
			name: "SetBudget escapes the subject and leaves out no caps",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetBudget(ctx, "owner:a/b c", Budget{Window: "month", Invocations: 5})
			},
			exchanges: []exchange{{
				method: "PUT", path: "/v1/budgets/owner:a%2Fb%20c",
				reqBody: `{"window":"month","invocations":5}`,
				status:  200, respBody: ownerBudgetJSON,
			}},
			want: &ownerBudget,
		},
		{
			name: "Policies",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Policies(ctx) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/policies", status: 200, respBody: `{"policies":[{"name":"t","expression":"true","message":"m"},{"name":"r","expression":"route.schema","message":"m","each":"route"}]}`},
			},
			want: []Policy{{Name: "t", Expression: "true", Message: "m"}, {Name: "r", Expression: "route.schema", Message: "m", Each: "route"}},
		},
		{
			name: "SetPolicies",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetPolicies(ctx, []Policy{{Name: "r", Expression: "route.schema", Message: "m", Each: "route"}})
			},
			exchanges: []exchange{{
				method: "PUT", path: "/v1/policies",
				reqBody: `{"policies":[{"name":"r","expression":"route.schema","message":"m","each":"route"}]}`,
				status:  200, respBody: `{"policies":[{"name":"r","expression":"route.schema","message":"m","each":"route"}]}`,
			}},
			want: []Policy{{Name: "r", Expression: "route.schema", Message: "m", Each: "route"}},
		},
		{
			name: "SetPolicies with none clears them",
			call: func(ctx context.Context, c *Client) (any, error) { return c.SetPolicies(ctx, nil) },
			exchanges: []exchange{{
				method: "PUT", path: "/v1/policies", reqBody: `{"policies":[]}`,
				status: 200, respBody: `{"policies":[]}`,
			}},
			want: []Policy{},
		},
		{
			name: "Call escapes the id",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Call(ctx, "c_01/x") },
			exchanges: []exchange{
				{method: "GET", path: "/v1/calls/c_01%2Fx", status: 200, respBody: callJSON},
			},
			want: call,
		},
		{
			name: "DeadLetters with a limit",
			call: func(ctx context.Context, c *Client) (any, error) { return c.DeadLetters(ctx, "hello", 50) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/functions/hello/dlq", query: "limit=50", status: 200, respBody: `[` + deadLetterJSON + `]`},
			},
			want: []DeadLetter{deadLetter},
		},
		{
			name: "DeadLetters, all of them, of none",
			call: func(ctx context.Context, c *Client) (any, error) { return c.DeadLetters(ctx, "a/b", 0) },
			exchanges: []exchange{
				{method: "GET", path: "/v1/functions/a%2Fb/dlq", status: 200, respBody: `[]`},
			},
			want: []DeadLetter{},
		},
		{
			name: "Redrive sequence numbers",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Redrive(ctx, "hello", RedriveRequest{Sequences: []uint64{3, 12}})
			},
			exchanges: []exchange{{
				method: "POST", path: "/v1/functions/hello/dlq/retry",
				reqBody: `{"sequences":[3,12]}`, status: 200, respBody: `{"redriven":2}`,
			}},
			want: &RedriveResult{Redriven: 2},
		},
		{
			name: "Redrive all",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Redrive(ctx, "hello", RedriveRequest{All: true})
			},
			exchanges: []exchange{{
				method: "POST", path: "/v1/functions/hello/dlq/retry", reqBody: `{"all":true}`, status: 200, respBody: `{"redriven":0}`,
			}},
			want: &RedriveResult{},
		},
		{
			name: "ClearBudget",
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.ClearBudget(ctx, "owner:team/a") },
			exchanges: []exchange{
				{method: "DELETE", path: "/v1/budgets/owner:team%2Fa", status: 204},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.exchanges...)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name      string
		call      func(context.Context, *Client) error
		exchange  exchange
		want      *Error // nil: the error is not an *Error
		wantError string
	}{
		{
			name: "pave error body",
			call: func(ctx context.Context, c *Client) error { _, err := c.GetFunction(ctx, "nope"); return err },
			exchange: exchange{
				method: "GET", path: "/v1/functions/nope", status: 404,
				respBody: `{"error":{"code":"function_not_found","message":"function \"nope\" does not exist","request_id":"req-1"}}`,
			},
			want:      &Error{Status: 404, Code: "function_not_found", Message: `function "nope" does not exist`, RequestID: "req-1"},
			wantError: `function "nope" does not exist (code function_not_found, request req-1)`,
		},
		{
			name: "multi-line message stays on one line",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.Deploy(ctx, DeployRequest{Digest: testDigest})
				return err
			},
			exchange: exchange{
				method: "POST", path: "/v1/functions", reqBody: `{"manifest":"","digest":"` + testDigest + `"}`, status: 400,
				respBody: `{"error":{"code":"invalid_manifest","message":"pave.yaml:3: unknown field \"nmae\"\npave.yaml:5: name is required","request_id":"req-2"}}`,
			},
			want:      &Error{Status: 400, Code: "invalid_manifest", Message: "pave.yaml:3: unknown field \"nmae\"\npave.yaml:5: name is required", RequestID: "req-2"},
			wantError: `pave.yaml:3: unknown field "nmae"; pave.yaml:5: name is required (code invalid_manifest, request req-2)`,
		},
		{
			name: "rejected token",
			call: func(ctx context.Context, c *Client) error { _, err := c.ListKeys(ctx); return err },
			exchange: exchange{
				method: "GET", path: "/v1/keys", status: 401,
				respBody: `{"error":{"code":"unauthenticated","message":"invalid admin token","request_id":"req-3"}}`,
			},
			want:      &Error{Status: 401, Code: "unauthenticated", Message: "invalid admin token", RequestID: "req-3"},
			wantError: "invalid admin token (code unauthenticated, request req-3)",
		},
		{
			name: "invalid budget",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SetBudget(ctx, "function:hello", Budget{Window: "week", Invocations: 1})
				return err
			},
			exchange: exchange{
				method: "PUT", path: "/v1/budgets/function:hello", reqBody: `{"window":"week","invocations":1}`, status: 400,
				respBody: `{"error":{"code":"bad_request","message":"invalid budget: window \"week\": want day or month","request_id":"req-4"}}`,
			},
			want:      &Error{Status: 400, Code: "bad_request", Message: `invalid budget: window "week": want day or month`, RequestID: "req-4"},
			wantError: `invalid budget: window "week": want day or month (code bad_request, request req-4)`,
		},
		{
			name: "HTML error page from a proxy",
			call: func(ctx context.Context, c *Client) error { _, err := c.ListFunctions(ctx); return err },
			exchange: exchange{
				method: "GET", path: "/v1/functions", status: 502, respType: "text/html",
				respBody: "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>\n",
			},
			want:      &Error{Status: 502, Message: "502 Bad Gateway"},
			wantError: "502 Bad Gateway (HTTP 502)",
		},
		{
			name: "plain-text error from a proxy",
			call: func(ctx context.Context, c *Client) error { _, err := c.ListFunctions(ctx); return err },
			exchange: exchange{
				method: "GET", path: "/v1/functions", status: 503, respType: "text/plain; charset=utf-8",
				respBody:    "upstream connect error\nor disconnect/reset before headers\n",
				respHeaders: map[string]string{"X-Request-Id": "edge-9"},
			},
			want:      &Error{Status: 503, Message: "503 Service Unavailable: upstream connect error or disconnect/reset before headers", RequestID: "edge-9"},
			wantError: "503 Service Unavailable: upstream connect error or disconnect/reset before headers (request edge-9)",
		},
		{
			name:      "HEAD error has no body",
			call:      func(ctx context.Context, c *Client) error { _, err := c.HasBlob(ctx, testDigest); return err },
			exchange:  exchange{method: "HEAD", path: "/v1/blobs/" + testDigest, status: 401},
			want:      &Error{Status: 401, Message: "401 Unauthorized"},
			wantError: "401 Unauthorized (HTTP 401)",
		},
		{
			name: "malformed success body",
			call: func(ctx context.Context, c *Client) error { _, err := c.ListFunctions(ctx); return err },
			exchange: exchange{
				method: "GET", path: "/v1/functions", status: 200, respType: "text/html", respBody: "<html>login</html>",
			},
			wantError: "decoding response to GET /v1/functions: invalid character '<'",
		},
		{
			name:      "unhealthy daemon",
			call:      func(ctx context.Context, c *Client) error { return c.Health(ctx) },
			exchange:  exchange{method: "GET", path: "/v1/health", status: 200, respBody: `{"status":"starting"}`},
			wantError: `daemon reports status "starting"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.exchange)
			err := tt.call(context.Background(), c)
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.HasPrefix(err.Error(), tt.wantError) {
				t.Errorf("Error() = %q, want prefix %q", err, tt.wantError)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Error() = %q spans lines", err)
			}
			var apiErr *Error
			isAPIErr := errors.As(err, &apiErr)
			switch {
			case tt.want == nil && isAPIErr:
				t.Errorf("got *Error %#v, want another error", apiErr)
			case tt.want != nil && !isAPIErr:
				t.Errorf("got %T, want *Error", err)
			case tt.want != nil && *apiErr != *tt.want:
				t.Errorf("got  %#v\nwant %#v", *apiErr, *tt.want)
			}
		})
	}
}

func TestResponseBodyIsLimited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"functions":[],"padding":"`)
		io.Copy(w, io.LimitReader(neverEnding('x'), MaxResponseBytes))
		io.WriteString(w, `"}`)
	}))
	defer srv.Close()

	_, err := New(srv.URL, testToken).ListFunctions(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("ListFunctions error = %v, want the body limit to be enforced", err)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{Status: 404}, true},
		{fmt.Errorf("revoking: %w", &Error{Status: 404}), true},
		{&Error{Status: 403}, false},
		{errors.New("404"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsNotFound(tt.err); got != tt.want {
			t.Errorf("IsNotFound(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestClientFormatHidesToken(t *testing.T) {
	c := New("http://127.0.0.1:8081", testToken)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, verb, c)
		fmt.Fprintf(&buf, verb, *c)
		if strings.Contains(buf.String(), testToken) {
			t.Errorf("%s shows the token: %s", verb, buf.String())
		}
		if !strings.Contains(buf.String(), "127.0.0.1:8081") {
			t.Errorf("%s = %s, want the base URL in it", verb, buf.String())
		}
	}
}

func TestDigest(t *testing.T) {
	if got := Digest(testModule); got != testDigest {
		t.Errorf("Digest = %s, want %s", got, testDigest)
	}
}
