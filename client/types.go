package client

import "time"

// The types in this file are the admin API's wire format. The daemon
// (internal/adminapi) encodes them and this package decodes them, so a change
// here is a change of the API: add fields, never repurpose them.

// Function is one deployed function as the admin API reports it.
type Function struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Description string `json:"description,omitempty"`
	// Version is the active version number (1-based).
	Version int `json:"version"`
	// Digest is the sha256 of the active version's module, "sha256:<hex>".
	Digest string `json:"digest"`
	// Mode is how the module is run: "reactor" (pave_v1 ABI) or
	// "wasi-command" (stdin/stdout compatibility path).
	Mode string `json:"mode"`
	// Isolation is how each invocation gets clean state: "snapshot"
	// (pooled instances of a pre-initialised module, restored after every
	// call) or "fresh" (a new instance per call). IsolationNote says why a
	// reactor runs fresh.
	Isolation     string  `json:"isolation"`
	IsolationNote string  `json:"isolation_note,omitempty"`
	Routes        []Route `json:"routes"`
	Limits        Limits  `json:"limits"`
	// Public is true when any route is public.
	Public      bool       `json:"public"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastInvoked *time.Time `json:"last_invoked,omitempty"`
	// Invocations7d and Invocations30d count the calls that ran the
	// function over the last 7 and 30 days, today included.
	Invocations7d  int64 `json:"invocations_7d"`
	Invocations30d int64 `json:"invocations_30d"`
	// Capabilities are the active version's grants, by capability group.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Triggers are the active version's topic subscriptions and schedules.
	Triggers []Trigger `json:"triggers,omitempty"`
	// Quarantine is set while an operator has disabled the function.
	Quarantine *Quarantine `json:"quarantine,omitempty"`
	// Versions is filled in by GetFunction only, oldest first.
	Versions []Version `json:"versions,omitempty"`
	// Unchanged is set in the answer to a deploy of what the active
	// version is already: the same module and manifest. No version was
	// added (the answer's status is 200 rather than 201).
	Unchanged bool `json:"unchanged,omitempty"`
}

// Capabilities are what a function's manifest grants.
type Capabilities struct {
	Secrets []string          `json:"secrets,omitempty"`
	KV      map[string]string `json:"kv,omitempty"`
	HTTP    []string          `json:"http,omitempty"`
	Invoke  []string          `json:"invoke,omitempty"`
	Publish []string          `json:"publish,omitempty"`
}

// Route is one HTTP route of a function.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Public bool   `json:"public"`
	// Auth is the authentication scheme of a non-public route ("api-key").
	Auth string `json:"auth,omitempty"`
}

// Limits are a function's resource limits in base units.
type Limits struct {
	TimeoutMS    int64 `json:"timeout_ms"`
	MemoryBytes  int64 `json:"memory_bytes"`
	Concurrency  int   `json:"concurrency"`
	MaxBodyBytes int64 `json:"max_body_bytes"`
}

// Version is one deployed version of a function.
type Version struct {
	Number     int       `json:"number"`
	Digest     string    `json:"digest"`
	Size       int64     `json:"size"`
	Mode       string    `json:"mode"`
	Isolation  string    `json:"isolation"`
	DeployedAt time.Time `json:"deployed_at"`
	// Manifest is the pave.yaml text this version was deployed with.
	Manifest string `json:"manifest"`
}

// DeployRequest deploys a new version of a function. The module must have
// been uploaded first with PutBlob; Digest names it.
type DeployRequest struct {
	// Manifest is the pave.yaml text; the daemon parses and validates it.
	Manifest string `json:"manifest"`
	// ManifestFile is the file name used in error messages ("pave.yaml").
	ManifestFile string `json:"manifest_file,omitempty"`
	// Digest is "sha256:<hex>" of an uploaded module.
	Digest string `json:"digest"`
	// Files are the files the manifest refers to (JSON Schemas), by their
	// path relative to the manifest.
	Files map[string]string `json:"files,omitempty"`
}

// RollbackRequest moves a function's active version. Version 0 means the
// version before the active one.
type RollbackRequest struct {
	Version int `json:"version,omitempty"`
}

// FunctionList is the body of GET /v1/functions.
type FunctionList struct {
	Functions []Function `json:"functions"`
}

// Key is an API key's metadata; the secret is never part of it.
type Key struct {
	Name      string     `json:"name"`
	Functions []string   `json:"functions"`
	Scopes    []string   `json:"scopes,omitempty"`
	CIDRs     []string   `json:"cidrs,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// UpdateKeyRequest changes the functions an API key may call, keeping its
// secret: PATCH /v1/keys/{name}.
type UpdateKeyRequest struct {
	AddFunctions    []string `json:"add_functions,omitempty"`
	RemoveFunctions []string `json:"remove_functions,omitempty"`
}

// CreateKeyRequest creates an API key allowed to call Functions.
type CreateKeyRequest struct {
	Name      string   `json:"name"`
	Functions []string `json:"functions"`
	// ExpiresIn is a Go duration ("720h"); empty means the key does not expire.
	ExpiresIn string `json:"expires_in,omitempty"`
	// Scopes are granted to the key; routes that require scopes accept
	// only keys holding all of them.
	Scopes []string `json:"scopes,omitempty"`
	// CIDRs restrict the source addresses the key works from; empty means
	// any.
	CIDRs []string `json:"cidrs,omitempty"`
}

// CreateKeyResponse carries the key's secret: the only time it is shown.
type CreateKeyResponse struct {
	Key    Key    `json:"key"`
	Secret string `json:"secret"`
}

// KeyList is the body of GET /v1/keys.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// InvokeRequest calls a function through the admin API. Method and Path,
// which is escaped as in a URL, choose the function's route as the
// gateway would; they default to the function's first route.
type InvokeRequest struct {
	Method  string            `json:"method,omitempty"`
	Path    string            `json:"path,omitempty"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// InvokeResponse is the function's HTTP response.
type InvokeResponse struct {
	Status    int                 `json:"status"`
	Headers   map[string][]string `json:"headers,omitempty"`
	Body      []byte              `json:"body,omitempty"`
	RequestID string              `json:"request_id"`
}

// ErrorBody is the one error shape of every pave API and gateway response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the content of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Violations, for invalid_input, locate what broke the route's input
	// contract, without repeating the offending values.
	Violations []Violation `json:"violations,omitempty"`
}

// Violation is one place where a request broke a route's input contract.
type Violation struct {
	// In is "body" or "query".
	In string `json:"in"`
	// Pointer is the JSON pointer of the offending value.
	Pointer string `json:"pointer"`
	// Reason says which rule it broke.
	Reason string `json:"reason"`
}

// Budget is a denial-of-wallet budget: a cap per window on invocations,
// compute (GB-seconds: memory limit in GiB times wall time) and request
// bytes. A zero cap is no cap.
type Budget struct {
	// Window is "day" or "month" (UTC calendar windows).
	Window           string  `json:"window"`
	Invocations      int64   `json:"invocations,omitempty"`
	ComputeGBSeconds float64 `json:"compute_gb_seconds,omitempty"`
	RequestBytes     int64   `json:"request_bytes,omitempty"`
}

// BudgetStatus is one subject's budget and what it has spent.
type BudgetStatus struct {
	// Subject is "function:NAME" or "owner:NAME".
	Subject string `json:"subject"`
	// Budget is the budget in force; Source says where it comes from:
	// "override" (set by an operator), "manifest" or "default".
	Budget Budget `json:"budget"`
	Source string `json:"source"`
	// Spent is the spending of the current window, if any.
	Spent       *Budget    `json:"spent,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
}

// BudgetList is the body of GET /v1/budgets.
type BudgetList struct {
	Budgets []BudgetStatus `json:"budgets"`
}

// Policy is one rule of the organisation's policy set: a CEL expression
// over a function's manifest, true when the function complies (see
// docs/POLICY.md).
type Policy struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Message    string `json:"message"`
	// Each is "route", "host" or "trigger" for a rule about every item of
	// that kind in turn; empty for a rule about the whole function.
	Each string `json:"each,omitempty"`
}

// PolicySet is the body of GET and PUT /v1/policies: the rules every
// deploy is checked against, in order.
type PolicySet struct {
	Policies []Policy `json:"policies"`
}

// SecretInfo describes a secret; values are never part of the API.
type SecretInfo struct {
	Name      string          `json:"name"`
	Versions  []SecretVersion `json:"versions"`
	CreatedAt time.Time       `json:"created_at"`
	RotatedAt time.Time       `json:"rotated_at"`
	// GrantedTo are the functions whose manifests grant the secret.
	GrantedTo []string `json:"granted_to"`
}

// SecretVersion is one version of a secret.
type SecretVersion struct {
	Number    int       `json:"number"`
	CreatedAt time.Time `json:"created_at"`
}

// SecretList is the body of GET /v1/secrets.
type SecretList struct {
	Secrets []SecretInfo `json:"secrets"`
}

// RotateMasterResponse reports a master key rotation.
type RotateMasterResponse struct {
	OldKeyID string `json:"old_key_id"`
	NewKeyID string `json:"new_key_id"`
	// Rewrapped is the number of secret versions re-encrypted and read
	// back.
	Rewrapped int `json:"rewrapped"`
}

// RotateAuditKeyResponse reports an audit key rotation: the log is sealed
// with the new key from the rotation on.
type RotateAuditKeyResponse struct {
	OldKeyID string `json:"old_key_id"`
	NewKeyID string `json:"new_key_id"`
}

// QuarantineRequest disables a function.
type QuarantineRequest struct {
	Reason string `json:"reason"`
}

// Quarantine says who disabled a function, when and why.
type Quarantine struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// AuditEvent is one event of the audit log.
type AuditEvent struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Source  string            `json:"source"`
	Outcome string            `json:"outcome"`
	Details map[string]string `json:"details,omitempty"`
}

// AuditVerifyReport is what verifying the audit log found.
type AuditVerifyReport struct {
	// OK is true when no problem was found.
	OK bool `json:"ok"`
	// Problem is the first problem found: the record, its kind (edited,
	// missing, moved, truncated, forged_seal, ...) and what was wrong.
	Problem *AuditProblem `json:"problem,omitempty"`
	// First, Last and End are the first and last records read and the
	// log's last sequence number.
	First        uint64     `json:"first"`
	Last         uint64     `json:"last"`
	End          uint64     `json:"end"`
	Events       int        `json:"events"`
	Seals        int        `json:"seals"`
	LastSeal     uint64     `json:"last_seal"`
	LastSealTime *time.Time `json:"last_seal_time,omitempty"`
	// Unsealed counts the records after the last seal, protected by the
	// chain only.
	Unsealed int      `json:"unsealed"`
	Head     uint64   `json:"head"`
	Pruned   bool     `json:"pruned,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// KeyID is the id of the audit key the newest records are sealed
	// with, and Rotations the number of key rotations read.
	KeyID     string `json:"key_id,omitempty"`
	Rotations int    `json:"rotations,omitempty"`
}

// AuditProblem is the first problem verifying found.
type AuditProblem struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	// Text is the problem in one line.
	Text string `json:"text"`
}

// Call is an asynchronous call: one submitted with POST /async/..., or made
// by a topic or schedule trigger.
type Call struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	Route    string `json:"route"`
	Caller   string `json:"caller,omitempty"`
	State    string `json:"state"` // queued, running, retrying, succeeded, failed, dead
	Attempts int    `json:"attempts"`
	// Interrupted counts the attempts cut short by the daemon stopping.
	Interrupted int           `json:"interrupted,omitempty"`
	Submitted   time.Time     `json:"submitted"`
	Updated     time.Time     `json:"updated"`
	NextAttempt *time.Time    `json:"next_attempt,omitempty"`
	Result      *CallResult   `json:"result,omitempty"`
	Error       *CallError    `json:"error,omitempty"`
	Callback    *CallCallback `json:"callback,omitempty"`
}

// CallResult is the function's response to a call.
type CallResult struct {
	Status    int          `json:"status"`
	Headers   []CallHeader `json:"headers,omitempty"`
	Body      []byte       `json:"body,omitempty"`
	Truncated bool         `json:"truncated,omitempty"`
}

// CallHeader is one response header field.
type CallHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CallError is why a call's last attempt failed or it was given up.
type CallError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CallCallback is the delivery of a call's result to its callback URL.
type CallCallback struct {
	URL       string    `json:"url"`
	Delivered bool      `json:"delivered"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// DeadLetter is a job in the dead-letter stream: a call given up after its
// retries, or an event that could not be delivered.
type DeadLetter struct {
	Sequence uint64    `json:"sequence"`
	At       time.Time `json:"at"`
	Error    CallError `json:"error"`
	Attempts int       `json:"attempts"`
	Job      DeadJob   `json:"job"`
}

// DeadJob is what a dead letter would have run.
type DeadJob struct {
	ID        string    `json:"id"`
	Function  string    `json:"function"`
	Route     string    `json:"route"`
	Trigger   string    `json:"trigger,omitempty"`
	Event     string    `json:"event,omitempty"` // the id of the event a trigger delivers
	Caller    string    `json:"caller,omitempty"`
	Submitted time.Time `json:"submitted"`
}

// RedriveRequest names the dead letters to queue again: the sequence
// numbers, or all of the function's.
type RedriveRequest struct {
	Sequences []uint64 `json:"sequences,omitempty"`
	All       bool     `json:"all,omitempty"`
}

// RedriveResult says how many dead letters were queued again.
type RedriveResult struct {
	Redriven int `json:"redriven"`
}

// Trigger is a topic subscription or a schedule of a function.
type Trigger struct {
	Topic    string `json:"topic,omitempty"`
	Schedule string `json:"schedule,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// Missed is what happens to ticks missed while pave was down: "skip"
	// or "run-once".
	Missed string `json:"missed,omitempty"`
}

// ReplaceKeyRequest replaces an API key's functions, scopes, source
// networks and expiry: PUT /v1/keys/{name}. The key's secret stays the
// same.
type ReplaceKeyRequest struct {
	Functions []string `json:"functions"`
	Scopes    []string `json:"scopes,omitempty"`
	CIDRs     []string `json:"cidrs,omitempty"`
	// ExpiresAt is when the key stops working; nil: it does not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Issuer is a JWT issuer the daemon trusts, from its configuration.
type Issuer struct {
	Issuer     string   `json:"issuer"`
	Audiences  []string `json:"audiences"`
	Algorithms []string `json:"algorithms"`
	// JWKS is where its keys come from: the JWKS URL, or "file".
	JWKS string `json:"jwks"`
}

// IssuerList is the body of GET /v1/issuers.
type IssuerList struct {
	Issuers []Issuer `json:"issuers"`
}

// ApplyHeader carries the id of an apply in progress on every request
// the apply makes, so that the daemon records the change in the apply's
// audit event.
const ApplyHeader = "X-Pave-Apply"

// ApplyStart starts the apply of an app file: POST /v1/applies.
type ApplyStart struct {
	// App is the app file's name field.
	App string `json:"app"`
	// Digest is "sha256:<hex>" of the app file's bytes.
	Digest string `json:"digest"`
	// Commit is the git commit of the repository holding the file, if
	// any, and Dirty whether its working tree had changes.
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
	// Env is the environment applied, if one was selected.
	Env string `json:"env,omitempty"`
}

// ApplyStarted is the response to ApplyStart.
type ApplyStarted struct {
	ID string `json:"id"`
}

// ApplyFinish ends an apply: POST /v1/applies/{id}/finish. Complete is
// false when the client stopped before making every change it planned.
type ApplyFinish struct {
	Complete bool `json:"complete"`
}

// ApplyRecord is what the daemon recorded of an apply, in its one
// app.apply audit event: the changes its handlers made and the requests
// they refused.
type ApplyRecord struct {
	ID      string   `json:"id"`
	Done    []string `json:"done"`
	Refused []string `json:"refused,omitempty"`
	// Outcome is "ok", or "failed" when a request was refused or the
	// apply did not complete.
	Outcome string `json:"outcome"`
}
