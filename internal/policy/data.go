package policy

import (
	"slices"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
)

// The data rules see. Field names are those of pave.yaml where it has
// them; docs/POLICY.md documents every field, and a test checks that it
// does. A field a manifest leaves out holds its default (limits) or its
// zero value: "", 0, false, an empty list or map.

// Manifest is the variable manifest: one function.
type Manifest struct {
	Name        string `cel:"name"`
	Owner       string `cel:"owner"`
	Description string `cel:"description"`
	Runtime     string `cel:"runtime"` // "go" or "js"
	// Public is true when any route is public.
	Public       bool         `cel:"public"`
	Routes       []Route      `cel:"routes"`
	Limits       Limits       `cel:"limits"`
	RateLimit    RateLimits   `cel:"rate_limit"`
	Budget       Budget       `cel:"budget"`
	Capabilities Capabilities `cel:"capabilities"`
	Triggers     []Trigger    `cel:"triggers"`
	Async        Async        `cel:"async"`
}

// Route is one route: an item of manifest.routes, and the variable
// route of a rule with each: route.
type Route struct {
	Method string `cel:"method"`
	Path   string `cel:"path"`
	Public bool   `cel:"public"`
	// Auth is "api-key", "jwt" or "webhook"; "" for a public route.
	Auth   string   `cel:"auth"`
	Scopes []string `cel:"scopes"`
	// Schema is true when the route has an input contract: a body or a
	// query schema.
	Schema      bool `cel:"schema"`
	BodySchema  bool `cel:"body_schema"`
	QuerySchema bool `cel:"query_schema"`
	// RateLimited is true when the function sets rate_limit.caller or
	// rate_limit.function, which hold every route.
	RateLimited bool `cel:"rate_limited"`
	// Unredacted is true when the route opts out of redaction;
	// UnredactedReason is the reason it gives.
	Unredacted       bool   `cel:"unredacted"`
	UnredactedReason string `cel:"unredacted_reason"`
	// JWTIssuer is the issuer a jwt route requires; "" for any trusted one.
	JWTIssuer string `cel:"jwt_issuer"`
}

// Limits are manifest.limits, defaults filled in.
type Limits struct {
	Timeout     time.Duration `cel:"timeout"`
	Memory      int64         `cel:"memory"` // bytes
	Concurrency int64         `cel:"concurrency"`
	MaxBody     int64         `cel:"max_body"` // bytes
}

// RateLimits are manifest.rate_limit; a rate that is not set is zero.
type RateLimits struct {
	Function Rate `cel:"function"`
	Caller   Rate `cel:"caller"`
}

// Rate is one rate limit.
type Rate struct {
	PerSecond float64 `cel:"per_second"` // 0: not set
	Burst     int64   `cel:"burst"`
}

// Budget is manifest.budget.
type Budget struct {
	Set              bool    `cel:"set"` // false: the daemon's default budget
	Window           string  `cel:"window"`
	Invocations      int64   `cel:"invocations"`
	ComputeGBSeconds float64 `cel:"compute_gb_seconds"`
	RequestBytes     int64   `cel:"request_bytes"`
}

// Capabilities are manifest.capabilities: the function's grants.
type Capabilities struct {
	Secrets []string          `cel:"secrets"`
	KV      map[string]string `cel:"kv"` // bucket to "read" or "write"
	HTTP    []string          `cel:"http"`
	Invoke  []string          `cel:"invoke"`
	Publish []string          `cel:"publish"`
}

// Trigger is one trigger: an item of manifest.triggers, and the variable
// trigger of a rule with each: trigger.
type Trigger struct {
	Kind     string `cel:"kind"`     // "topic" or "schedule"
	Topic    string `cel:"topic"`    // "" for a schedule
	Schema   bool   `cel:"schema"`   // a topic trigger with a data schema
	Schedule string `cel:"schedule"` // "" for a topic
	Timezone string `cel:"timezone"`
}

// Async is manifest.async.
type Async struct {
	Retries   int64         `cel:"retries"`
	Backoff   time.Duration `cel:"backoff"`
	Callbacks []string      `cel:"callbacks"`
}

// Data returns m as the rules see it. It is the one place that turns a
// manifest into the variable manifest.
func Data(m *manifest.Manifest) *Manifest {
	rateLimited := m.RateLimit.Function != nil || m.RateLimit.Caller != nil
	out := &Manifest{
		Name:        m.Name,
		Owner:       m.Owner,
		Description: m.Description,
		Runtime:     m.Runtime,
		Public:      m.Public(),
		Routes:      make([]Route, 0, len(m.Routes)),
		Limits: Limits{
			Timeout:     m.Limits.Timeout,
			Memory:      m.Limits.Memory,
			Concurrency: int64(m.Limits.Concurrency),
			MaxBody:     m.Limits.MaxBody,
		},
		Capabilities: Capabilities{
			Secrets: nonNil(m.Capabilities.Secrets),
			KV:      map[string]string{},
			HTTP:    nonNil(m.Capabilities.HTTP),
			Invoke:  nonNil(m.Capabilities.Invoke),
			Publish: nonNil(m.Capabilities.Publish),
		},
		Triggers: make([]Trigger, 0, len(m.Triggers)),
		Async: Async{
			Retries:   int64(m.Async.Retries),
			Backoff:   m.Async.Backoff,
			Callbacks: nonNil(m.Async.Callbacks),
		},
	}
	if out.Runtime == "" {
		out.Runtime = manifest.RuntimeGo
	}
	for _, r := range m.Routes {
		route := Route{
			Method:           r.Method,
			Path:             r.Path,
			Public:           r.Public,
			Auth:             r.Auth,
			Scopes:           nonNil(r.Scopes),
			RateLimited:      rateLimited,
			Unredacted:       r.Unredacted != "",
			UnredactedReason: r.Unredacted,
		}
		if r.Schema != nil {
			route.BodySchema, route.QuerySchema = r.Schema.Body != nil, r.Schema.Query != nil
			route.Schema = route.BodySchema || route.QuerySchema
		}
		if r.JWT != nil {
			route.JWTIssuer = r.JWT.Issuer
		}
		out.Routes = append(out.Routes, route)
	}
	if r := m.RateLimit.Function; r != nil {
		out.RateLimit.Function = Rate{PerSecond: r.PerSecond, Burst: int64(r.Burst)}
	}
	if r := m.RateLimit.Caller; r != nil {
		out.RateLimit.Caller = Rate{PerSecond: r.PerSecond, Burst: int64(r.Burst)}
	}
	if b := m.Budget; b != nil {
		out.Budget = Budget{Set: true, Window: string(b.Window), Invocations: b.Invocations,
			ComputeGBSeconds: b.ComputeGBs, RequestBytes: b.RequestBytes}
	}
	for bucket, access := range m.Capabilities.KV {
		out.Capabilities.KV[bucket] = access
	}
	for _, t := range m.Triggers {
		tr := Trigger{Kind: "topic", Topic: t.Topic, Schema: t.Schema != nil, Schedule: t.Schedule, Timezone: t.Timezone}
		if t.Schedule != "" {
			tr.Kind = "schedule"
		}
		out.Triggers = append(out.Triggers, tr)
	}
	return out
}

// nonNil returns a copy of s, empty rather than nil: rules see lists, never
// null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
