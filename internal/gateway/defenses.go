package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/contract"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/oidc"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/webhook"
)

// This file holds the gateway's defences: everything that decides whether
// a request may reach a function, in the order the request meets them.
// Each refusal is an *apierror.Error with its own code, so that it is
// counted and logged by ServeHTTP like every other outcome.

// TokenVerifier verifies JWT bearer tokens from the trusted issuers.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*oidc.Claims, error)
}

// WebhookSecrets reads the secrets that sign a webhook route's deliveries.
type WebhookSecrets interface {
	WebhookSecrets(file string) ([]secret.Value, error)
}

// BudgetOverrides are budgets an operator set, by subject
// ("function:NAME" or "owner:NAME"); they win over manifests and defaults.
type BudgetOverrides interface {
	Budget(subject string) (limits.Budget, bool)
}

// routePolicy is what a route's manifest entry compiles to: the checks
// prepared once, at reload, rather than on every request.
type routePolicy struct {
	body, query *contract.Schema
	webhook     *webhook.Verifier
	jwt         oidc.Requirement
	// broken, when set, fails every request of the route closed: a schema
	// or webhook secret that cannot be loaded must not open the route.
	broken error
}

// compilePolicy prepares the checks of route rt of function fn.
func (g *Gateway) compilePolicy(ctx context.Context, fn string, rt manifest.Route, schemas map[string]*contract.Schema) *routePolicy {
	p := &routePolicy{}
	load := func(ref *manifest.SchemaRef) *contract.Schema {
		if ref == nil || p.broken != nil {
			return nil
		}
		if s, ok := schemas[ref.Digest]; ok {
			return s
		}
		if s, ok := g.schemas[ref.Digest]; ok {
			schemas[ref.Digest] = s
			return s
		}
		text, err := g.fns.Blob(ctx, ref.Digest)
		if err != nil {
			p.broken = fmt.Errorf("schema %s: %w", ref.Digest, err)
			return nil
		}
		s, err := contract.Compile(ref.Digest, text)
		if err != nil {
			p.broken = fmt.Errorf("schema %s: %w", ref.Digest, err)
			return nil
		}
		schemas[ref.Digest] = s
		return s
	}
	if rt.Schema != nil {
		p.body, p.query = load(rt.Schema.Body), load(rt.Schema.Query)
	}
	if rt.JWT != nil {
		p.jwt = oidc.Requirement{Issuer: rt.JWT.Issuer, Scopes: rt.Scopes, Roles: rt.JWT.Roles}
		for _, c := range rt.JWT.Claims {
			p.jwt.Claims = append(p.jwt.Claims, oidc.ClaimRequirement{Name: c.Name, Equals: claimValue(c.Equals), Contains: claimValue(c.Contains)})
		}
	}
	if wh := rt.Webhook; wh != nil && p.broken == nil {
		p.webhook, p.broken = g.webhookVerifier(fn, rt)
	}
	return p
}

// claimValue is a manifest's claim value as oidc compares it, of the same
// type: a string, a json.Number or a bool, or nil when unset.
func claimValue(v manifest.ClaimValue) any {
	switch v.Kind {
	case manifest.ClaimString:
		return v.Text
	case manifest.ClaimNumber:
		return json.Number(v.Text)
	case manifest.ClaimBool:
		return v.Text == "true"
	}
	return nil
}

func (g *Gateway) webhookVerifier(fn string, rt manifest.Route) (*webhook.Verifier, error) {
	wh := rt.Webhook
	if g.deps.WebhookSecrets == nil {
		return nil, errors.New("no webhook secret source")
	}
	secrets, err := g.deps.WebhookSecrets.WebhookSecrets(wh.SecretFile)
	if err != nil {
		return nil, err
	}
	scheme, err := webhook.ParseScheme(wh.Scheme)
	if err != nil {
		return nil, err
	}
	return webhook.New(webhook.Config{
		Scheme:          scheme,
		Secrets:         secrets,
		Header:          wh.Header,
		TimestampHeader: wh.TimestampHeader,
		IDHeader:        wh.IDHeader,
		Tolerance:       wh.Tolerance,
		Namespace:       fn + " " + rt.Method + " " + rt.Path,
	}, g.replay)
}

// checkCallDepth reads the call depth of a request from its header,
// refusing one beyond the cap before anything else is done for it (admit
// checks the depth of every call again).
func (g *Gateway) checkCallDepth(r *http.Request) (int, error) {
	header := r.Header.Get(limits.HeaderCallDepth)
	depth, err := limits.CallDepth(header, g.deps.Defenses.MaxCallDepth)
	if err == nil {
		return depth, nil
	}
	if n, perr := strconv.ParseUint(header, 10, 32); errors.Is(err, limits.ErrCallDepth) || (err != nil && perr == nil && n > 0) {
		// A well-formed depth beyond any cap is a loop too.
		return 0, callDepthExceeded(g.deps.Defenses.MaxCallDepth, err)
	}
	return 0, apierror.Wrap(err, apierror.BadRequest, "the %s header must be a small whole number", limits.HeaderCallDepth)
}

// bearer reads the bearer token of r, refusing a request with more than
// one Authorization header (identity.Bearer says why).
func bearer(r *http.Request) (string, error) {
	token, err := identity.Bearer(r.Header)
	if err != nil {
		return "", apierror.Wrap(err, apierror.BadRequest, "send one Authorization header, not several")
	}
	return token, nil
}

// authenticateKey checks an API key route.
func (g *Gateway) authenticateKey(r *http.Request, t *target) (string, error) {
	token, err := bearer(r)
	if err != nil {
		return "", err
	}
	key, err := g.keys.Authenticate(token)
	if err != nil {
		e := apierror.New(apierror.Unauthenticated, "a valid API key is required: send Authorization: Bearer <key>")
		e.Cause = err
		return "", e
	}
	err = key.Authorize(t.Function, t.Route.Scopes, remoteAddr(r), g.now())
	switch {
	case err == nil:
		return key.Caller(), nil
	case errors.Is(err, identity.ErrRevoked):
		return "", apierror.Wrap(err, apierror.Forbidden, "this API key has been revoked")
	case errors.Is(err, identity.ErrExpired):
		return "", apierror.Wrap(err, apierror.Forbidden, "this API key has expired")
	case errors.Is(err, identity.ErrScope):
		// The scope names come from the manifest, not from the caller.
		return "", apierror.Wrap(err, apierror.InsufficientScope, "this API key lacks a scope the route requires: %s", strings.Join(t.Route.Scopes, ", "))
	case errors.Is(err, identity.ErrSource):
		return "", apierror.Wrap(err, apierror.SourceNotAllowed, "this API key may not be used from this address")
	}
	return "", apierror.Wrap(err, apierror.Forbidden, "this API key may not call this function")
}

// authenticateJWT checks a JWT route.
func (g *Gateway) authenticateJWT(r *http.Request, t *target) (string, error) {
	token, err := bearer(r)
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", apierror.New(apierror.Unauthenticated, "a bearer token is required: send Authorization: Bearer <JWT>")
	}
	if g.deps.Tokens == nil {
		return "", apierror.New(apierror.InvalidToken, "this daemon trusts no token issuer")
	}
	claims, err := g.deps.Tokens.Verify(r.Context(), token)
	if errors.Is(err, oidc.ErrKeysUnavailable) {
		return "", apierror.Wrap(err, apierror.IdentityUnavailable, "the token issuer's keys cannot be fetched right now; retry later")
	}
	if err != nil {
		return "", apierror.Wrap(err, apierror.InvalidToken, "the bearer token is not valid: %s", tokenProblem(err))
	}
	if err := claims.Check(t.policy.jwt); err != nil {
		return "", apierror.Wrap(err, apierror.InsufficientScope, "the token does not meet the route's requirements: %v", err)
	}
	return claims.Caller(), nil
}

// tokenProblem names what is wrong with a token without quoting it.
func tokenProblem(err error) string {
	for _, p := range []struct {
		err  error
		text string
	}{
		{oidc.ErrExpired, "it has expired"},
		{oidc.ErrNotYetValid, "it is not valid yet"},
		{oidc.ErrIssuedInFuture, "it was issued in the future"},
		{oidc.ErrAudience, "it is meant for another audience"},
		{oidc.ErrUnknownIssuer, "its issuer is not trusted"},
		{oidc.ErrAlgorithm, "its algorithm is not allowed"},
		{oidc.ErrType, "its type is not allowed"},
		{oidc.ErrSignature, "its signature does not verify"},
	} {
		if errors.Is(err, p.err) {
			return p.text
		}
	}
	return "it is malformed"
}

// verifyWebhook checks a webhook delivery's signature over the raw body.
func (g *Gateway) verifyWebhook(r *http.Request, t *target, body []byte) (string, error) {
	id, err := t.policy.webhook.Verify(r.Header, body, g.now())
	switch {
	case err == nil:
		caller := "webhook:" + t.Route.Webhook.Scheme
		if id != "" && len(id) <= 128 {
			caller += "#" + id
		}
		return caller, nil
	case errors.Is(err, webhook.ErrReplay):
		return "", apierror.Wrap(err, apierror.Replayed, "this delivery was received before")
	case errors.Is(err, webhook.ErrReplayUnavailable):
		return "", apierror.Wrap(err, apierror.Unavailable, "the delivery cannot be checked for replay right now")
	case errors.Is(err, webhook.ErrReplayCacheFull):
		return "", &apierror.Error{Code: apierror.RateLimited, Message: "too many deliveries to remember; retry later", Cause: err, RetryAfter: 1}
	case errors.Is(err, webhook.ErrStale):
		return "", apierror.Wrap(err, apierror.InvalidSignature, "the delivery's timestamp is outside the accepted window")
	case errors.Is(err, webhook.ErrMissingSignature):
		return "", apierror.Wrap(err, apierror.InvalidSignature, "the delivery carries no signature")
	}
	return "", apierror.Wrap(err, apierror.InvalidSignature, "the delivery's signature does not verify")
}

// rateLimit takes a token from the function's bucket and the caller's.
// The caller's policy is reported in the IETF RateLimit headers.
func (g *Gateway) rateLimit(h http.Header, f *registry.Function, caller string) error {
	v := f.Current()
	fnRate, callerRate := g.deps.Defenses.FunctionRate, g.deps.Defenses.CallerRate
	if r := v.RateLimit.Function; r != nil {
		fnRate = *r
	}
	if r := v.RateLimit.Caller; r != nil {
		callerRate = *r
	}
	d := g.deps.Limiter.Allow("caller "+f.Name+" "+caller, callerRate)
	d.Headers(h, "caller")
	if !d.Allowed {
		return rateLimited(d, "this caller is over the function's rate limit")
	}
	fd := g.deps.Limiter.Allow("function "+f.Name, fnRate)
	if !fd.Allowed {
		// The refusal reports the policy that refused.
		h.Del("RateLimit")
		h.Del("RateLimit-Policy")
		fd.Headers(h, "function")
		return rateLimited(fd, "the function is over its rate limit")
	}
	return nil
}

func rateLimited(d limits.Decision, msg string) error {
	secs := int((d.RetryAfter + time.Second - 1) / time.Second)
	return &apierror.Error{Code: apierror.RateLimited, Message: msg + "; retry later", RetryAfter: max(1, secs)}
}

// acquireOwner takes one of the owner's concurrency slots.
func (g *Gateway) acquireOwner(owner string) (func(), error) {
	release, ok := g.deps.Owners.Acquire(owner)
	if !ok {
		return nil, &apierror.Error{Code: apierror.OwnerBusy, Message: "this function's owner is at its concurrency limit; retry later", RetryAfter: 1}
	}
	return release, nil
}

// checkInput enforces the route's contract on the body and query, and the
// nesting limit on every JSON body.
func (g *Gateway) checkInput(r *http.Request, t *target, body []byte) error {
	p := t.policy
	isJSON := contract.JSONMediaType(r.Header.Get("Content-Type"))
	if p.body != nil {
		if len(body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			if !isJSON {
				return apierror.New(apierror.UnsupportedMediaType, "this route accepts application/json bodies only")
			}
			v, err := contract.DecodeStrict(body, contract.Limits{})
			if err != nil {
				var se *contract.SyntaxError
				if errors.As(err, &se) {
					return invalidInput(err, []apierror.Violation{{In: "body", Pointer: se.Pointer, Reason: se.Reason}})
				}
				return invalidInput(err, []apierror.Violation{{In: "body", Pointer: "", Reason: "is not valid JSON"}})
			}
			if vs := p.body.Validate(v, contract.MaxViolations); len(vs) > 0 {
				return invalidInput(nil, violations("body", vs))
			}
		}
	} else if isJSON && len(body) > 0 {
		if err := contract.CheckDepth(body, maxJSONDepth); err != nil {
			return invalidInput(err, []apierror.Violation{{In: "body", Reason: fmt.Sprintf("nests deeper than %d levels", maxJSONDepth)}})
		}
	}
	if r.URL.RawQuery == "" && p.query == nil {
		return nil
	}
	// Every route: a query that parsers read differently never reaches a
	// function, whether or not the route has a contract for it today.
	query, err := abi.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "%s", ambiguousQuery(err))
	}
	if p.query != nil {
		vs, err := p.query.ValidateQuery(query, contract.MaxViolations)
		if err != nil {
			return invalidInput(err, []apierror.Violation{{In: "query", Reason: "is not valid UTF-8"}})
		}
		if len(vs) > 0 {
			return invalidInput(nil, violations("query", vs))
		}
	}
	return nil
}

// ambiguousQuery is the message for a query abi.ParseQuery refused: the
// rule it broke, never the query.
func ambiguousQuery(err error) string {
	const prefix = "the query cannot be read unambiguously: "
	switch {
	case errors.Is(err, abi.ErrQuerySeparator):
		return prefix + "separate parameters with '&' only and percent-encode ';' as %3B"
	case errors.Is(err, abi.ErrQueryEscape):
		return prefix + "every '%' must start a %XX escape; percent-encode '%' as %25"
	case errors.Is(err, abi.ErrQueryCharacter):
		return prefix + "percent-encode control characters, spaces and '#'"
	case errors.Is(err, abi.ErrQueryText):
		return prefix + "names and values must decode to UTF-8 text without NUL"
	case errors.Is(err, abi.ErrQueryTooMany):
		return fmt.Sprintf("the query has more than %d parameters", abi.MaxQueryPairs)
	}
	return prefix + "malformed"
}

// maxJSONDepth is the deepest nesting any JSON body may have.
const maxJSONDepth = 64

func invalidInput(cause error, vs []apierror.Violation) error {
	return &apierror.Error{Code: apierror.InvalidInput, Message: "the request does not match the route's input contract", Cause: cause, Violations: vs}
}

func violations(in string, vs []contract.Violation) []apierror.Violation {
	out := make([]apierror.Violation, len(vs))
	for i, v := range vs {
		out[i] = apierror.Violation{In: in, Pointer: v.Pointer, Reason: v.Reason}
	}
	return out
}

// reserveBudget admits the call against the function's and the owner's
// budgets.
func (g *Gateway) reserveBudget(f *registry.Function, requestBytes int64) (*limits.Reservation, error) {
	v := f.Current()
	fn := "function:" + f.Name
	var buf [2]limits.Subject
	subjects := append(buf[:0], limits.Subject{Name: fn, Budget: g.budgetOf(fn, v.Budget)})
	if g.deps.Budgets != nil {
		owner := "owner:" + f.Owner
		if b, ok := g.override(owner); ok {
			subjects = append(subjects, limits.Subject{Name: owner, Budget: b})
		}
	}
	res, err := g.deps.Ledger.Reserve(subjects, requestBytes, v.Limits.Memory, v.Limits.Timeout)
	if err == nil {
		return res, nil
	}
	var ex *limits.ExhaustedError
	if errors.As(err, &ex) {
		retry := int(ex.ResetAt.Sub(g.now()).Seconds()) + 1
		who := "the function's"
		if strings.HasPrefix(ex.Subject, "owner:") {
			who = "its owner's"
		}
		return nil, &apierror.Error{
			Code:       apierror.BudgetExhausted,
			Message:    fmt.Sprintf("%s %s budget is spent; it renews at %s", who, ex.Meter, ex.ResetAt.UTC().Format(time.RFC3339)),
			Cause:      err,
			RetryAfter: max(1, retry),
		}
	}
	if errors.Is(err, limits.ErrLeaseUnavailable) {
		return nil, apierror.Wrap(err, apierror.Unavailable, "the budget cannot be checked right now")
	}
	return nil, err
}

// budgetOf is a function's budget: the operator's override, else its
// manifest's, else the daemon's default.
func (g *Gateway) budgetOf(subject string, own *limits.Budget) limits.Budget {
	if b, ok := g.override(subject); ok {
		return b
	}
	if own != nil {
		return *own
	}
	return g.deps.Defenses.Budget
}

func (g *Gateway) override(subject string) (limits.Budget, bool) {
	if g.deps.Budgets == nil {
		return limits.Budget{}, false
	}
	return g.deps.Budgets.Budget(subject)
}

// remoteAddr is the address the request came from (the listener's peer;
// pave does not trust forwarding headers).
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// publicCaller identifies an unauthenticated caller by its address, for
// rate limiting.
func publicCaller(r *http.Request) string {
	a := remoteAddr(r)
	if !a.IsValid() {
		return "ip:unknown"
	}
	if a.Is6() {
		// One IPv6 client usually holds a whole /64.
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}
