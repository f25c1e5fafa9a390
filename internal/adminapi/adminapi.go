// Package adminapi serves the operator's API: deploys, versions, API keys
// and invocations on behalf of the admin. It listens apart from the gateway,
// on loopback unless the operator says otherwise, and every route but
// /v1/health requires the admin token.
//
// Its wire types are those of package client. Handlers return errors, and
// Handler.ServeHTTP is the one place that turns them into the JSON error
// shape and a log line.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
	"github.com/pave-dev/pave/internal/secret"
)

// Registry is what the admin API changes and reads.
type Registry interface {
	Get(name string) (*registry.Function, bool)
	List() []*registry.Function
	Deploy(ctx context.Context, d registry.Deployment) (f *registry.Function, added bool, err error)
	Rollback(ctx context.Context, name string, version int) (*registry.Function, error)
	Remove(ctx context.Context, name string) error
	PutBlob(ctx context.Context, digest string, data []byte) (bool, error)
	HasBlob(ctx context.Context, digest string) (bool, error)
	Blob(ctx context.Context, digest string) ([]byte, error)
	Manifest(ctx context.Context, v *registry.Version) (string, error)
	SetQuarantine(ctx context.Context, name string, q *registry.Quarantine) (*registry.Function, error)
}

// Preparer validates and compiles a module before it is deployed.
type Preparer interface {
	Prepare(ctx context.Context, digest string, wasm []byte, granted func(string) bool, lim runtime.Limits) (*runtime.Module, error)
	// Preload starts compiling an uploaded module in the background, for
	// the Prepare of the deploy that follows.
	Preload(digest string, wasm []byte)
}

// Keys manages API keys.
type Keys interface {
	Create(ctx context.Context, name string, functions []string, opt identity.KeyOptions) (secret.Value, *identity.Key, error)
	Revoke(ctx context.Context, name string) error
	UpdateFunctions(ctx context.Context, name string, add, remove []string) (*identity.Key, error)
	List() []identity.Key
	ForgetFunction(ctx context.Context, function string) error
	Replace(ctx context.Context, name string, c identity.KeyChange) (*identity.Key, error)
}

// Invoker runs a function for the admin.
type Invoker interface {
	Call(ctx context.Context, function string, req *abi.Request) (*abi.Response, error)
}

// Usage reports and forgets what functions did: last invocation and
// invocation counts.
type Usage interface {
	LastInvoked(name string) (time.Time, bool)
	Invocations(name string, days int) int64
	Forget(ctx context.Context, name string)
}

// AdminAuth checks the admin token.
type AdminAuth interface {
	Check(token string) bool
}

// Limits on request bodies.
const (
	MaxModuleSize = 64 << 20
	maxJSONBody   = 1 << 20
	maxInvokeBody = 96 << 20 // a base64 body of up to the largest max_body
)

// WebhookSecrets reads the secrets of webhook routes; deploys check that
// the files their manifests name are usable.
type WebhookSecrets interface {
	WebhookSecrets(file string) ([]secret.Value, error)
}

// Deps are the subsystems the admin API drives.
type Deps struct {
	Registry       Registry
	Preparer       Preparer
	Keys           Keys
	Invoker        Invoker
	Usage          Usage
	Auth           AdminAuth
	Nodes          Nodes          // nil: GET /v1/nodes answers 503
	AdminTokens    AdminTokens    // nil: the admin token cannot be rotated
	WebhookSecrets WebhookSecrets // nil: deploys with webhook routes are refused
	Budgets        Budgets        // nil: the budget endpoints answer 503
	Secrets        Secrets        // nil: the secret endpoints answer 503
	History        History        // nil: the history endpoint answers 503
	Auditor        Auditor        // nil: audit events go to the log only
	AuditLog       AuditLog       // nil: the audit endpoints answer 503
	Posture        Posture        // nil: no posture report, deploys unchecked
	Async          Async          // nil: the call and dead-letter endpoints answer 503
	ConsoleUsers   ConsoleUsers   // nil: the console user endpoints answer 503
	Policies       Policies       // nil: the policy endpoints answer 503
	// Issuers are the JWT issuers the daemon trusts, from its
	// configuration, as GET /v1/issuers reports them.
	Issuers []client.Issuer
	Health  Health // nil: /v1/health reports only that the daemon answers
	// Version is pave's version, named in SARIF reports.
	Version string
	Metrics http.Handler // nil: no /metrics
	// DefaultBudget is the budget of functions whose manifest sets none.
	DefaultBudget limits.Budget
	Log           *slog.Logger
}

// Handler is the admin API, an http.Handler.
type Handler struct {
	reg     Registry
	prep    Preparer
	keys    Keys
	invoke  Invoker
	usage   Usage
	auth    AdminAuth
	tokens  AdminTokens
	nodes   Nodes
	secrets WebhookSecrets
	budgets Budgets
	log     *slog.Logger

	secretStore Secrets
	hist        History
	auditor     Auditor
	auditLog    AuditLog
	post        Posture
	async       Async
	users       ConsoleUsers
	policies    Policies
	issuers     []client.Issuer
	applies     applies
	healthOf    Health
	version     string
	metrics     http.Handler
	mux         *http.ServeMux

	defaultBudget limits.Budget
}

// New returns the admin API handler.
func New(d Deps) *Handler {
	h := &Handler{
		reg: d.Registry, prep: d.Preparer, keys: d.Keys, invoke: d.Invoker, usage: d.Usage,
		auth: d.Auth, secrets: d.WebhookSecrets, budgets: d.Budgets, log: d.Log, mux: http.NewServeMux(),
		defaultBudget: d.DefaultBudget, secretStore: d.Secrets, hist: d.History, metrics: d.Metrics, auditor: d.Auditor,
		post: d.Posture, version: d.Version, auditLog: d.AuditLog, async: d.Async,
		users: d.ConsoleUsers, tokens: d.AdminTokens, nodes: d.Nodes, policies: d.Policies, issuers: d.Issuers,
		healthOf: d.Health,
	}
	h.route("GET /v1/health", public, h.health)
	h.route("HEAD /v1/blobs/{digest}", private, h.hasBlob)
	h.route("PUT /v1/blobs/{digest}", private, h.putBlob)
	h.route("POST /v1/functions", private, h.deploy)
	h.route("GET /v1/functions", private, h.listFunctions)
	h.route("GET /v1/functions/{name}", private, h.getFunction)
	h.route("DELETE /v1/functions/{name}", private, h.removeFunction)
	h.route("POST /v1/functions/{name}/rollback", private, h.rollback)
	h.route("POST /v1/functions/{name}/invoke", private, h.invokeFunction)
	h.route("GET /v1/functions/{name}/history", private, h.history)
	h.route("POST /v1/functions/{name}/quarantine", private, h.quarantine)
	h.route("POST /v1/functions/{name}/restore", private, h.restore)
	h.route("GET /v1/functions/{name}/dlq", private, h.deadLetters)
	h.route("POST /v1/functions/{name}/dlq/retry", private, h.redrive)
	h.route("GET /v1/calls/{id}", private, h.call)
	h.route("GET /metrics", private, h.serveMetrics)
	h.route("GET /v1/nodes", private, h.listNodes)
	h.route("GET /v1/posture", private, h.posture)
	h.route("GET /v1/graph", private, h.flowGraph)
	h.route("GET /v1/audit", private, h.auditEvents)
	h.route("GET /v1/audit/verify", private, h.auditVerify)
	h.route("POST /v1/audit/rotate-key", private, h.auditRotateKey)
	h.route("POST /v1/keys", private, h.createKey)
	h.route("GET /v1/keys", private, h.listKeys)
	h.route("DELETE /v1/keys/{name}", private, h.revokeKey)
	h.route("PATCH /v1/keys/{name}", private, h.updateKey)
	h.route("POST /v1/console/users", private, h.addConsoleUser)
	h.route("GET /v1/console/users", private, h.listConsoleUsers)
	h.route("PATCH /v1/console/users/{name}", private, h.setConsoleUserRole)
	h.route("DELETE /v1/console/users/{name}", private, h.removeConsoleUser)
	h.route("POST /v1/console/users/{name}/password", private, h.resetConsoleUserPassword)
	h.route("PUT /v1/secrets/{name}", private, h.setSecret)
	h.route("GET /v1/secrets", private, h.listSecrets)
	h.route("DELETE /v1/secrets/{name}", private, h.removeSecret)
	h.route("POST /v1/secrets/rotate-master", private, h.rotateMaster)
	h.route("POST /v1/admin/token/rotate", private, h.rotateAdminToken)
	h.route("GET /v1/policies", private, h.listPolicies)
	h.route("PUT /v1/policies", private, h.setPolicies)
	h.route("GET /v1/budgets", private, h.listBudgets)
	h.route("PUT /v1/budgets/{subject}", private, h.setBudget)
	h.route("DELETE /v1/budgets/{subject}", private, h.clearBudget)
	h.route("PUT /v1/keys/{name}", private, h.replaceKey)
	h.route("GET /v1/issuers", private, h.listIssuers)
	h.route("POST /v1/applies", private, h.startApply)
	h.route("POST /v1/applies/{id}/finish", private, h.finishApply)
	h.route("/", public, func(http.ResponseWriter, *http.Request) error {
		return apierror.New(apierror.NotFound, "no such endpoint")
	})
	return h
}

type access bool

const (
	public  access = true
	private access = false
)

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// requestIDKey carries the request id to handlers that pass it on.
type requestIDKey struct{}

func (h *Handler) route(pattern string, a access, fn handlerFunc) {
	h.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := apierror.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		err := h.authorize(r, a)
		if err == nil {
			err = fn(w, r)
		}
		if err != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.applies.note(r, "", r.Method+" "+r.URL.Path+": "+string(apierror.From(err).Code))
		}
		h.finish(w, r, id, err)
	}))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) authorize(r *http.Request, a access) error {
	if a == public {
		return nil
	}
	token, err := identity.Bearer(r.Header)
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "send one Authorization header, not several")
	}
	if !h.auth.Check(token) {
		return apierror.New(apierror.Unauthenticated, "the admin token is required: send Authorization: Bearer <token>")
	}
	return nil
}

// finish logs the request and, when err is set, writes the error shape.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, id string, err error) {
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}
	if err == nil {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "admin request", attrs...)
		return
	}
	e := apierror.From(err)
	apierror.Write(w, e, id)
	attrs = append(attrs, slog.String("code", string(e.Code)), slog.Int("status", e.Code.Status()))
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	level := slog.LevelInfo
	if e.Code.Status() >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "admin request failed", attrs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing
// data and bodies over limit.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apierror.New(apierror.BodyTooLarge, "request body is larger than %d bytes", limit)
		}
		return apierror.Wrap(err, apierror.BadRequest, "request body is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	if dec.More() {
		return apierror.New(apierror.BadRequest, "request body has data after the JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return msg[len("json: "):] // names the field, never a value
	}
	return "malformed"
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// Health reports the state of what the daemon depends on.
type Health interface {
	// Health reports whether the store answers, and its state as JSON
	// shows it.
	Health() (ok bool, store any)
}

// health answers 200 {"status": "ok", "store": {...}} while the store
// answers, and 503 {"status": "unavailable", "store": {...}} (naming the
// part that does not) while it does not, for a load balancer to take the
// node out: it could serve nothing that reads or writes the store.
func (h *Handler) health(w http.ResponseWriter, _ *http.Request) error {
	if h.healthOf == nil {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	ok, st := h.healthOf.Health()
	if !ok {
		w.Header().Set("Retry-After", "5")
		return writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "store": st})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "store": st})
}
