// Package client is the Go client of pave's admin API: deploying functions
// and their modules, rolling them back, invoking them, and managing API keys
// and budgets.
//
// A Client is safe for concurrent use. Every call takes a context, which is
// the way to bound how long it may take; the client sets no timeout of its
// own because a deploy of a large module or a slow function may legitimately
// take a while.
//
// Errors the daemon reports are returned as *Error, which carries the HTTP
// status, the daemon's stable error code and the request id to quote when
// asking for help:
//
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict { ... }
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxResponseBytes bounds how much of a response body the client reads. A
// larger body is an error rather than an unbounded allocation.
const MaxResponseBytes = 32 << 20

// maxErrorBytes bounds how much of an error response the client reads: an
// error body is small, and a proxy's error page need not be read in full.
const maxErrorBytes = 64 << 10

// Client calls the admin API of one pave daemon.
type Client struct {
	baseURL string
	token   string
	hc      *http.Client
	// apply is the id of the apply the client's requests belong to.
	apply string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc instead of a
// default http.Client, for example to set a transport with custom TLS roots.
// A nil hc keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// New returns a client of the admin API at baseURL ("http://127.0.0.1:8081")
// that authenticates with the admin token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		token:   token,
		hc:      &http.Client{},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Format prints the client without its token, whatever the verb, so that a
// Client in a log line or an error message cannot leak it.
func (c Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "client.Client{baseURL: %q}", c.baseURL)
}

// Error is an error response of the admin API.
type Error struct {
	// Status is the HTTP status code of the response.
	Status int
	// Code is the daemon's stable, machine-readable error code; empty when
	// the response did not come from pave (a proxy in between, say).
	Code string
	// Message is the human-readable description of the problem.
	Message string
	// RequestID identifies the request in the daemon's logs.
	RequestID string
}

// Error returns a single line: "<message> (code <code>, request <id>)".
func (e *Error) Error() string {
	var refs []string
	if e.Code != "" {
		refs = append(refs, "code "+e.Code)
	}
	if e.RequestID != "" {
		refs = append(refs, "request "+e.RequestID)
	}
	if len(refs) == 0 {
		refs = append(refs, fmt.Sprintf("HTTP %d", e.Status))
	}
	return oneLine(e.Message) + " (" + strings.Join(refs, ", ") + ")"
}

// oneLine joins the lines of s with "; ", so that a message listing several
// problems, one a line, still reads well on a single line.
func oneLine(s string) string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// IsNotFound reports whether err is an admin API error with status 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Health reports whether the daemon answers and says it is healthy. It is
// the one call that needs no token.
func (c *Client) Health(ctx context.Context) error {
	var body struct {
		Status string `json:"status"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/health", nil, &body); err != nil {
		return err
	}
	if body.Status != "ok" {
		return fmt.Errorf("daemon reports status %q", body.Status)
	}
	return nil
}

// HasBlob reports whether the daemon stores the module with digest
// ("sha256:<hex>").
func (c *Client) HasBlob(ctx context.Context, digest string) (bool, error) {
	err := c.do(ctx, http.MethodHead, "/v1/blobs/"+url.PathEscape(digest), nil, nil)
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// PutBlob uploads a module unless the daemon already stores it, and returns
// its digest ("sha256:<hex>") for a DeployRequest.
func (c *Client) PutBlob(ctx context.Context, module []byte) (digest string, err error) {
	digest = Digest(module)
	stored, err := c.HasBlob(ctx, digest)
	if err != nil {
		return "", err
	}
	if stored {
		return digest, nil
	}
	err = c.do(ctx, http.MethodPut, "/v1/blobs/"+url.PathEscape(digest), rawBody{module, "application/wasm"}, nil)
	if err != nil {
		return "", err
	}
	return digest, nil
}

// Digest returns the content address of a module as the admin API spells
// it: "sha256:" followed by 64 lower-case hex digits.
func Digest(module []byte) string {
	sum := sha256.Sum256(module)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Deploy deploys a new version of a function from a manifest and a module
// uploaded with PutBlob, and returns the function as now deployed.
func (c *Client) Deploy(ctx context.Context, req DeployRequest) (*Function, error) {
	var f Function
	if err := c.do(ctx, http.MethodPost, "/v1/functions", req, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// ListFunctions returns every deployed function, without their versions.
func (c *Client) ListFunctions(ctx context.Context) ([]Function, error) {
	var list FunctionList
	if err := c.do(ctx, http.MethodGet, "/v1/functions", nil, &list); err != nil {
		return nil, err
	}
	return list.Functions, nil
}

// GetFunction returns one function with all its versions.
func (c *Client) GetFunction(ctx context.Context, name string) (*Function, error) {
	var f Function
	if err := c.do(ctx, http.MethodGet, functionPath(name), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// RemoveFunction removes a function and its routes.
func (c *Client) RemoveFunction(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, functionPath(name), nil, nil)
}

// Rollback makes an earlier version of a function the active one; version
// 0 means the version before the active one. It returns the function as
// now deployed.
func (c *Client) Rollback(ctx context.Context, name string, version int) (*Function, error) {
	var f Function
	if err := c.do(ctx, http.MethodPost, functionPath(name)+"/rollback", RollbackRequest{Version: version}, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Quarantine disables function name without deleting it.
func (c *Client) Quarantine(ctx context.Context, name, reason string) (*Function, error) {
	var out Function
	if err := c.do(ctx, http.MethodPost, functionPath(name)+"/quarantine", QuarantineRequest{Reason: reason}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Restore ends function name's quarantine.
func (c *Client) Restore(ctx context.Context, name string) (*Function, error) {
	var out Function
	if err := c.do(ctx, http.MethodPost, functionPath(name)+"/restore", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Invoke calls a function and returns its HTTP response. A response with
// an error status is still a successful call: the error is the function's,
// and Invoke returns it in the InvokeResponse with a nil error.
func (c *Client) Invoke(ctx context.Context, name string, req InvokeRequest) (*InvokeResponse, error) {
	var r InvokeResponse
	if err := c.do(ctx, http.MethodPost, functionPath(name)+"/invoke", req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateKey creates an API key. The response carries the key's secret: the
// daemon keeps only a hash of it, so this is the only time it is available.
func (c *Client) CreateKey(ctx context.Context, req CreateKeyRequest) (*CreateKeyResponse, error) {
	var r CreateKeyResponse
	if err := c.do(ctx, http.MethodPost, "/v1/keys", req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateKey changes the functions the API key name may call and returns
// the key as changed; its secret stays the same.
func (c *Client) UpdateKey(ctx context.Context, name string, req UpdateKeyRequest) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPatch, "/v1/keys/"+url.PathEscape(name), req, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListKeys returns the metadata of every API key, revoked ones included.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	var list KeyList
	if err := c.do(ctx, http.MethodGet, "/v1/keys", nil, &list); err != nil {
		return nil, err
	}
	return list.Keys, nil
}

// RevokeKey revokes an API key; requests made with it fail from then on.
func (c *Client) RevokeKey(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(name), nil, nil)
}

// ListBudgets returns every function's budget in force, whatever its
// source (an operator's override, the manifest or the daemon's default),
// and the owners' overrides, each with its spending in the current window.
func (c *Client) ListBudgets(ctx context.Context) ([]BudgetStatus, error) {
	var list BudgetList
	if err := c.do(ctx, http.MethodGet, "/v1/budgets", nil, &list); err != nil {
		return nil, err
	}
	return list.Budgets, nil
}

// SetBudget sets an operator's override of the budget of subject,
// "function:NAME" or "owner:NAME", and returns the budget now in force. An
// override wins over the manifest's budget and the daemon's default, and
// applies at once: raising it re-opens a function stopped by its budget.
func (c *Client) SetBudget(ctx context.Context, subject string, b Budget) (*BudgetStatus, error) {
	var st BudgetStatus
	if err := c.do(ctx, http.MethodPut, budgetPath(subject), b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// ClearBudget removes the override of subject's budget; a function goes
// back to its manifest's budget or the daemon's default.
func (c *Client) ClearBudget(ctx context.Context, subject string) error {
	return c.do(ctx, http.MethodDelete, budgetPath(subject), nil, nil)
}

// Policies returns the organisation's policy set: the rules every deploy
// is checked against.
func (c *Client) Policies(ctx context.Context) ([]Policy, error) {
	var set PolicySet
	if err := c.do(ctx, http.MethodGet, "/v1/policies", nil, &set); err != nil {
		return nil, err
	}
	return set.Policies, nil
}

// SetPolicies replaces the organisation's policy set with rules, which
// the daemon compiles first: rules that do not compile are refused
// (invalid_policy) and the set in force stays. No rules clears it. Deploys
// are checked against the new set from then on; functions deployed before
// are not, but pave posture reports their violations.
func (c *Client) SetPolicies(ctx context.Context, rules []Policy) ([]Policy, error) {
	if rules == nil {
		rules = []Policy{}
	}
	var set PolicySet
	if err := c.do(ctx, http.MethodPut, "/v1/policies", PolicySet{Policies: rules}, &set); err != nil {
		return nil, err
	}
	return set.Policies, nil
}

// ReplaceKey replaces the functions, scopes, networks and expiry of an
// active API key, keeping its secret, and returns the key as changed.
func (c *Client) ReplaceKey(ctx context.Context, name string, req ReplaceKeyRequest) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPut, "/v1/keys/"+url.PathEscape(name), req, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListIssuers returns the JWT issuers the daemon trusts.
func (c *Client) ListIssuers(ctx context.Context) ([]Issuer, error) {
	var list IssuerList
	if err := c.do(ctx, http.MethodGet, "/v1/issuers", nil, &list); err != nil {
		return nil, err
	}
	return list.Issuers, nil
}

// StartApply starts the apply of an app file and returns a client whose
// requests belong to it, for the daemon to record in the apply's one
// audit event; FinishApply on that client records the event.
func (c *Client) StartApply(ctx context.Context, req ApplyStart) (*Client, error) {
	var r ApplyStarted
	if err := c.do(ctx, http.MethodPost, "/v1/applies", req, &r); err != nil {
		return nil, err
	}
	ac := *c
	ac.apply = r.ID
	return &ac, nil
}

// FinishApply ends the apply c belongs to and returns what the daemon
// recorded of it.
func (c *Client) FinishApply(ctx context.Context, complete bool) (*ApplyRecord, error) {
	if c.apply == "" {
		return nil, errors.New("client: FinishApply on a client that belongs to no apply")
	}
	bare := *c
	bare.apply = ""
	var r ApplyRecord
	if err := bare.do(ctx, http.MethodPost, "/v1/applies/"+url.PathEscape(c.apply)+"/finish", ApplyFinish{Complete: complete}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func functionPath(name string) string { return "/v1/functions/" + url.PathEscape(name) }

func budgetPath(subject string) string { return "/v1/budgets/" + url.PathEscape(subject) }

// rawBody is a request body sent as is rather than encoded as JSON.
type rawBody struct {
	data        []byte
	contentType string
}

// do sends one request and decodes a 2xx response's JSON body into out,
// unless out is nil. in is encoded as JSON unless it is a rawBody or nil.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	var contentType string
	switch in := in.(type) {
	case nil:
	case rawBody:
		body, contentType = bytes.NewReader(in.data), in.contentType
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s request: %w", method, path, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}

	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pave-client")
	if path != "/v1/health" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.apply != "" {
		req.Header.Set(ApplyHeader, c.apply)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	if out == nil || method == http.MethodHead {
		// Read what little is left so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
		return nil
	}
	b, err := readLimited(resp.Body, MaxResponseBytes)
	if err != nil {
		return fmt.Errorf("reading response to %s %s: %w", method, path, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding response to %s %s: %w", method, path, err)
	}
	return nil
}

// readError turns a non-2xx response into an *Error. A body in pave's error
// shape provides the code, message and request id; anything else (a proxy's
// error page, an empty HEAD response) is summarised from the status.
func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	b, _ := readLimited(resp.Body, maxErrorBytes)

	var eb ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
		e.Code = eb.Error.Code
		e.Message = eb.Error.Message
		if eb.Error.RequestID != "" {
			e.RequestID = eb.Error.RequestID
		}
		return e
	}

	e.Message = resp.Status
	if e.Message == "" {
		e.Message = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	// A short plain-text body usually says what went wrong; HTML and the
	// like would only clutter the line.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/plain" {
		if text := strings.Join(strings.Fields(string(b)), " "); text != "" {
			e.Message += ": " + truncate(text, 200)
		}
	}
	return e
}

// readLimited reads r to its end, failing if it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes", limit)
	}
	return b, nil
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func secretPath(name string) string { return "/v1/secrets/" + url.PathEscape(name) }

// SetSecret stores value as a new version of secret name. The value travels
// as the request body, never in the URL; no call returns it.
func (c *Client) SetSecret(ctx context.Context, name string, value []byte) (*SecretInfo, error) {
	var r SecretInfo
	if err := c.do(ctx, http.MethodPut, secretPath(name), rawBody{value, "application/octet-stream"}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListSecrets returns the metadata of every secret.
func (c *Client) ListSecrets(ctx context.Context) ([]SecretInfo, error) {
	var list SecretList
	if err := c.do(ctx, http.MethodGet, "/v1/secrets", nil, &list); err != nil {
		return nil, err
	}
	return list.Secrets, nil
}

// RemoveSecret deletes a secret and all its versions.
func (c *Client) RemoveSecret(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, secretPath(name), nil, nil)
}

// RotateMaster re-wraps every secret under a new master key.
func (c *Client) RotateMaster(ctx context.Context) (*RotateMasterResponse, error) {
	var r RotateMasterResponse
	if err := c.do(ctx, http.MethodPost, "/v1/secrets/rotate-master", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RotateAuditKey hands the audit log to the next audit key.
func (c *Client) RotateAuditKey(ctx context.Context) (*RotateAuditKeyResponse, error) {
	var r RotateAuditKeyResponse
	if err := c.do(ctx, http.MethodPost, "/v1/audit/rotate-key", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Graph returns the flow graph of the deployed functions in format: "json"
// or "dot".
func (c *Client) Graph(ctx context.Context, format string) ([]byte, error) {
	return c.getRaw(ctx, "/v1/graph?format="+url.QueryEscape(format))
}

// Posture returns the daemon's posture report in format: "json" (the
// report of package internal/posture, decoded by pave's CLI), "sarif" or
// "table".
func (c *Client) Posture(ctx context.Context, format string) ([]byte, error) {
	return c.getRaw(ctx, "/v1/posture?format="+url.QueryEscape(format))
}

// getRaw GETs path and returns the body of a 200 response as it is.
func (c *Client) getRaw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "pave-client")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	return readLimited(resp.Body, MaxResponseBytes)
}

// Call returns the asynchronous call id.
func (c *Client) Call(ctx context.Context, id string) (*Call, error) {
	var out Call
	if err := c.do(ctx, http.MethodGet, "/v1/calls/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeadLetters returns function's dead letters, oldest first, at most limit
// (0: all).
func (c *Client) DeadLetters(ctx context.Context, function string, limit int) ([]DeadLetter, error) {
	path := functionPath(function) + "/dlq"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out []DeadLetter
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Redrive queues function's dead letters again.
func (c *Client) Redrive(ctx context.Context, function string, req RedriveRequest) (*RedriveResult, error) {
	var out RedriveResult
	if err := c.do(ctx, http.MethodPost, functionPath(function)+"/dlq/retry", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
