package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apikey"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/webhook/scheme"
)

// This file decodes what a manifest says about the gateway's defences:
// how each route authenticates its callers, what input it accepts, how
// fast it may be called and how much it may spend.

// Authentication schemes of a non-public route.
const (
	AuthJWT     = "jwt"
	AuthWebhook = "webhook"
)

// authSchemes are the values route.auth accepts.
var authSchemes = []string{AuthAPIKey, AuthJWT, AuthWebhook}

// Bounds of the defences' settings.
const (
	MaxScopes            = 16
	MaxClaims            = 16
	MaxSchemaFileSize    = 256 << 10
	MaxWebhookTolerance  = time.Hour
	DefaultBudgetWindow  = limits.Day
	maxBurst             = 1_000_000
	maxBudgetInvocations = 1 << 40
	maxBudgetCompute     = 1e9 // GB-seconds
	maxBudgetBytes       = 1 << 50
)

// JWTRequirement is what a route demands of a JWT beyond a valid
// signature from a trusted issuer.
type JWTRequirement struct {
	Issuer string             `json:"issuer,omitempty"` // "" accepts any trusted issuer
	Roles  []string           `json:"roles,omitempty"`  // all required
	Claims []ClaimRequirement `json:"claims,omitempty"`
}

// ClaimRequirement demands that a claim equal or contain a value.
type ClaimRequirement struct {
	Name     string     `json:"name"`
	Equals   ClaimValue `json:"equals,omitzero"`
	Contains ClaimValue `json:"contains,omitzero"`
}

// ClaimValue is a value a claim is compared with, of the type the manifest
// wrote it in: a string matches only a string, a number only a number of
// equal value, a boolean only a boolean. So `equals: "1"` does not match
// the number 1, and `equals: 1` does not match the string "1".
type ClaimValue struct {
	Kind ClaimKind
	// Text is the string itself, the number as a JSON number literal, or
	// "true" or "false".
	Text string
}

// ClaimKind is the type of a ClaimValue.
type ClaimKind uint8

// Claim value types; the zero ClaimValue (ClaimUnset) demands nothing.
const (
	ClaimUnset ClaimKind = iota
	ClaimString
	ClaimNumber
	ClaimBool
)

// IsZero reports whether v demands nothing.
func (v ClaimValue) IsZero() bool { return v.Kind == ClaimUnset }

// jsonNumber is the grammar of a JSON number (RFC 8259 section 6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// MarshalJSON writes v as the JSON value it stands for.
func (v ClaimValue) MarshalJSON() ([]byte, error) {
	switch {
	case v.Kind == ClaimString:
		return json.Marshal(v.Text)
	case v.Kind == ClaimNumber && jsonNumber.MatchString(v.Text),
		v.Kind == ClaimBool && (v.Text == "true" || v.Text == "false"):
		return []byte(v.Text), nil
	case v.Kind == ClaimUnset:
		return []byte("null"), nil
	}
	return nil, fmt.Errorf("invalid claim value %q", v.Text)
}

// UnmarshalJSON reads a JSON string, number or boolean.
func (v *ClaimValue) UnmarshalJSON(b []byte) error {
	t := strings.TrimSpace(string(b))
	switch {
	case t == "null":
		*v = ClaimValue{}
	case t == "true" || t == "false":
		*v = ClaimValue{Kind: ClaimBool, Text: t}
	case jsonNumber.MatchString(t):
		*v = ClaimValue{Kind: ClaimNumber, Text: t}
	case strings.HasPrefix(t, `"`):
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = ClaimValue{Kind: ClaimString, Text: s}
	default:
		return errors.New("a claim value must be a string, a number or a boolean")
	}
	return nil
}

// Webhook is how a webhook route checks its deliveries' signatures.
type Webhook struct {
	Scheme          string        `json:"scheme"`
	SecretFile      string        `json:"secret_file"` // absolute path on the daemon's machine
	Header          string        `json:"header,omitempty"`
	TimestampHeader string        `json:"timestamp_header,omitempty"`
	IDHeader        string        `json:"id_header,omitempty"`
	Tolerance       time.Duration `json:"tolerance,omitempty"` // 0: the scheme's default
}

// Schemas are a route's input contracts.
type Schemas struct {
	Body  *SchemaRef `json:"body,omitempty"`
	Query *SchemaRef `json:"query,omitempty"`
}

// SchemaRef is one JSON Schema, written inline or in a file next to the
// manifest. Parse fills in Inline or File; the daemon resolves a file,
// compiles the schema, stores its text and records its Digest, which is
// all a deployed version keeps.
type SchemaRef struct {
	File   string `json:"file,omitempty"`
	Inline []byte `json:"-"` // JSON text
	Digest string `json:"digest,omitempty"`
	Line   int    `json:"line,omitempty"` // in the manifest, for messages
	Column int    `json:"column,omitempty"`
}

// RateLimits are a function's rate limits; nil ones take the daemon's
// defaults.
type RateLimits struct {
	Function *limits.Rate `json:"function,omitempty"` // all callers together
	Caller   *limits.Rate `json:"caller,omitempty"`   // each caller identity
}

func checkScheme(s string) error {
	if !scheme.Valid(s) {
		return fmt.Errorf("unsupported webhook scheme %s: use one of %s", quote(s), scheme.List())
	}
	return nil
}

var (
	claimNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,64}(\.[A-Za-z0-9_:-]{1,64}){0,3}$`)
	headerNamePattern = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)
)

func checkScope(s string) error {
	if !apikey.ValidScope(s) {
		return fmt.Errorf("invalid scope %s: use 1 to 128 printable ASCII characters without spaces or quotes", quote(s))
	}
	return nil
}

// checkReason accepts the reason an operator gives for an opt-out: a
// sentence, shown in posture reports.
func checkReason(s string) error {
	s = strings.TrimSpace(s)
	if len(s) < 10 || len(s) > 500 || strings.ContainsAny(s, "\r\n") {
		return errors.New("give the reason in one line of 10 to 500 characters")
	}
	return nil
}

func checkIssuer(s string) error {
	if s == "" || len(s) > 512 || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("invalid issuer %s: give the issuer URL exactly as the tokens' iss claim carries it", quote(s))
	}
	return nil
}

func checkHeaderName(s string) error {
	if !headerNamePattern.MatchString(s) {
		return fmt.Errorf("invalid header name %s", quote(s))
	}
	return nil
}

func checkSecretFile(s string) error {
	if !path.IsAbs(s) || path.Clean(s) != s || strings.ContainsRune(s, 0) {
		return fmt.Errorf("secret_file %s must be a clean absolute path on the daemon's machine", quote(s))
	}
	return nil
}

// checkSchemaFile accepts a .json file in the manifest's directory or
// below it.
func checkSchemaFile(s string) error {
	switch {
	case !strings.HasSuffix(s, ".json"):
		return fmt.Errorf("schema file %s must be a .json file", quote(s))
	case path.IsAbs(s) || path.Clean(s) != s || s == ".." || strings.HasPrefix(s, "../") || strings.ContainsAny(s, "\\\x00"):
		return fmt.Errorf("schema file %s must be a clean relative path inside the manifest's directory", quote(s))
	}
	return nil
}

// routeSecurity decodes the fields of a route that concern its defences.
type routeSecurity struct {
	d       *decoder
	r       *Route
	jwt     *yaml.Node
	webhook *yaml.Node
	scopes  *yaml.Node
}

func (s *routeSecurity) fields() []field {
	d, r := s.d, s.r
	return []field{
		{name: "scopes", decode: func(n *yaml.Node, path string) {
			s.scopes = n
			d.stringList(&r.Scopes, MaxScopes, checkScope)(n, path)
		}},
		{name: "jwt", decode: func(n *yaml.Node, path string) {
			s.jwt = n
			r.JWT = &JWTRequirement{}
			d.jwtRequirement(r.JWT)(n, path)
		}},
		{name: "webhook", decode: func(n *yaml.Node, path string) {
			s.webhook = n
			r.Webhook = &Webhook{}
			d.webhook(r.Webhook)(n, path)
		}},
		{name: "unredacted", decode: d.text(&r.Unredacted, checkReason)},
		{name: "schema", decode: func(n *yaml.Node, path string) {
			r.Schema = &Schemas{}
			d.object(n, path, []field{
				{name: "body", decode: d.schemaRef(&r.Schema.Body)},
				{name: "query", decode: d.schemaRef(&r.Schema.Query)},
			})
		}},
	}
}

// check reports settings that do not fit the route's auth.
func (s *routeSecurity) check(path string) {
	d, r := s.d, s.r
	if s.jwt != nil && r.Auth != AuthJWT {
		d.errorf(s.jwt, path+".jwt", "jwt requirements need auth: jwt")
	}
	if s.webhook != nil && r.Auth != AuthWebhook {
		d.errorf(s.webhook, path+".webhook", "webhook settings need auth: webhook")
	}
	if r.Auth == AuthWebhook && s.webhook == nil {
		d.errorf(nil, path, "auth: webhook needs a webhook block naming its scheme and secret_file")
	}
	if r.Auth == AuthWebhook && s.scopes != nil {
		d.errorf(s.scopes, path+".scopes", "a webhook route has no scopes: its sender proves only that it knows the secret")
	}
	if r.Public && s.scopes != nil {
		d.errorf(s.scopes, path+".scopes", "a public route has no caller to hold scopes")
	}
	if r.Auth == AuthJWT && r.JWT == nil {
		r.JWT = &JWTRequirement{}
	}
}

func (d *decoder) jwtRequirement(j *JWTRequirement) decodeFunc {
	return func(n *yaml.Node, path string) {
		d.object(n, path, []field{
			{name: "issuer", decode: d.text(&j.Issuer, checkIssuer)},
			{name: "roles", decode: d.stringList(&j.Roles, MaxScopes, checkScope)},
			{name: "claims", decode: d.claims(&j.Claims)},
		})
	}
}

// claims decodes a mapping of claim name to {equals: v} or {contains: v}.
func (d *decoder) claims(dst *[]ClaimRequirement) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.MappingNode, "a mapping of claim names to {equals: value} or {contains: value}") {
			return
		}
		if len(n.Content)/2 > MaxClaims {
			d.errorf(n, path, "%d claims; at most %d", len(n.Content)/2, MaxClaims)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, ok := d.key(k, path)
			if !ok {
				continue
			}
			at := join(path, name)
			if !claimNamePattern.MatchString(name) {
				d.errorf(k, at, "invalid claim name %s: letters, digits, '_', ':' and '-', with '.' to descend into an object", quote(name))
				continue
			}
			c := ClaimRequirement{Name: name}
			errs := len(d.errs)
			d.object(v, at, []field{
				{name: "equals", decode: d.claimValue(&c.Equals)},
				{name: "contains", decode: d.claimValue(&c.Contains)},
			})
			if len(d.errs) > errs {
				continue // a value was refused and said why
			}
			if c.Equals.IsZero() == c.Contains.IsZero() {
				d.errorf(v, at, "give exactly one of equals or contains")
				continue
			}
			*dst = append(*dst, c)
		}
	}
}

// claimValue decodes a string, number or boolean to compare a claim with,
// keeping its type. A number must be written as JSON writes it, so that
// its value is the one a token's issuer would write: 0x10, 010, 1_000,
// .5 and .inf are refused.
func (d *decoder) claimValue(dst *ClaimValue) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.ScalarNode, "a string, number or boolean") {
			return
		}
		switch n.ShortTag() {
		case strTag:
			if n.Value == "" || len(n.Value) > 256 {
				d.errorf(n, path, "claim value must be 1 to 256 bytes")
				return
			}
			*dst = ClaimValue{Kind: ClaimString, Text: n.Value}
		case intTag, floatTag:
			if !jsonNumber.MatchString(n.Value) || len(n.Value) > 256 {
				d.errorf(n, path, "number %s: write it in decimal as JSON does, such as 42, -1.5 or 1e3, or quote it to compare with a string claim", quote(n.Value))
				return
			}
			*dst = ClaimValue{Kind: ClaimNumber, Text: n.Value}
		case boolTag:
			var b bool
			if err := n.Decode(&b); err != nil {
				d.errorf(n, path, "%s is not a valid boolean", quote(n.Value))
				return
			}
			*dst = ClaimValue{Kind: ClaimBool, Text: strconv.FormatBool(b)}
		default:
			d.errorf(n, path, "expected a string, number or boolean, found %s", describe(n))
		}
	}
}

func (d *decoder) webhook(w *Webhook) decodeFunc {
	return func(n *yaml.Node, path string) {
		var header, tsHeader, idHeader *yaml.Node
		d.object(n, path, []field{
			{name: "scheme", required: true, decode: d.text(&w.Scheme, checkScheme)},
			{name: "secret_file", required: true, decode: d.text(&w.SecretFile, checkSecretFile)},
			{name: "header", decode: func(v *yaml.Node, at string) { header = v; d.text(&w.Header, checkHeaderName)(v, at) }},
			{name: "timestamp_header", decode: func(v *yaml.Node, at string) { tsHeader = v; d.text(&w.TimestampHeader, checkHeaderName)(v, at) }},
			{name: "id_header", decode: func(v *yaml.Node, at string) { idHeader = v; d.text(&w.IDHeader, checkHeaderName)(v, at) }},
			{name: "tolerance", decode: d.duration(&w.Tolerance, time.Second, MaxWebhookTolerance)},
		})
		if w.Scheme != string(scheme.HMAC) {
			for _, h := range []*yaml.Node{header, tsHeader, idHeader} {
				if h != nil {
					d.errorf(h, path, "header names are fixed by the %s scheme; only scheme hmac takes them", w.Scheme)
					break
				}
			}
		}
	}
}

// schemaRef decodes a schema: a file name, or the schema written inline as
// YAML (which is converted to JSON).
func (d *decoder) schemaRef(dst **SchemaRef) decodeFunc {
	return func(n *yaml.Node, path string) {
		ref := &SchemaRef{Line: n.Line, Column: n.Column}
		switch {
		case n.Kind == yaml.ScalarNode && n.ShortTag() == strTag:
			if err := checkSchemaFile(n.Value); err != nil {
				d.errorf(n, path, "%v", err)
				return
			}
			ref.File = n.Value
		case n.Kind == yaml.MappingNode:
			v, ok := d.jsonValue(n, path, 0)
			if !ok {
				return
			}
			text, err := json.Marshal(v)
			if err != nil {
				d.errorf(n, path, "schema cannot be written as JSON: %v", err)
				return
			}
			ref.Inline = text
		default:
			d.errorf(n, path, "expected a schema (a mapping) or the name of a .json file next to the manifest, found %s", describe(n))
			return
		}
		*dst = ref
	}
}

const maxSchemaDepth = 64

// jsonValue converts the YAML tree n into the value encoding/json would
// decode from the same document written as JSON.
func (d *decoder) jsonValue(n *yaml.Node, path string, depth int) (any, bool) {
	if !d.plain(n, path) {
		return nil, false
	}
	if depth > maxSchemaDepth {
		d.errorf(n, path, "schema nested deeper than %d levels", maxSchemaDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, kok := d.key(k, path)
			if !kok {
				ok = false
				continue
			}
			if _, dup := obj[name]; dup {
				d.errorf(k, path, "duplicate key %s", quote(name))
				ok = false
				continue
			}
			val, vok := d.jsonValue(v, join(path, name), depth+1)
			obj[name], ok = val, ok && vok
		}
		return obj, ok
	case yaml.SequenceNode:
		arr := make([]any, len(n.Content))
		ok := true
		for i, item := range n.Content {
			val, iok := d.jsonValue(item, fmt.Sprintf("%s[%d]", path, i), depth+1)
			arr[i], ok = val, ok && iok
		}
		return arr, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case strTag:
			return n.Value, true
		case boolTag:
			var b bool
			if err := n.Decode(&b); err != nil {
				d.errorf(n, path, "%s is not a valid boolean", quote(n.Value))
				return nil, false
			}
			return b, true
		case nullTag:
			return nil, true
		case intTag:
			v, ok := d.int64(n, path)
			return v, ok
		case floatTag:
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				d.errorf(n, path, "%s is not a finite number", quote(n.Value))
				return nil, false
			}
			return f, true
		}
	}
	d.errorf(n, path, "a schema holds only mappings, lists, strings, numbers, booleans and null; found %s", describe(n))
	return nil, false
}

// stringList returns a decodeFunc for a list of at most max strings, each
// accepted by check, without duplicates.
func (d *decoder) stringList(dst *[]string, max int, check func(string) error) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.SequenceNode, "a list of strings") {
			return
		}
		if len(n.Content) > max {
			d.errorf(n, path, "%d entries; at most %d", len(n.Content), max)
			return
		}
		var out []string
		for i, item := range n.Content {
			var s string
			d.mark(fmt.Sprintf("%s[%d]", path, i), item.Line)
			d.text(&s, check)(item, fmt.Sprintf("%s[%d]", path, i))
			if s == "" {
				continue
			}
			if slices.Contains(out, s) {
				d.errorf(item, fmt.Sprintf("%s[%d]", path, i), "%s is listed twice", quote(s))
				continue
			}
			out = append(out, s)
		}
		*dst = out
	}
}

// rateLimits decodes the rate_limit mapping.
func (d *decoder) rateLimits(rl *RateLimits) decodeFunc {
	return func(n *yaml.Node, path string) {
		d.object(n, path, []field{
			{name: "function", decode: d.rate(&rl.Function)},
			{name: "caller", decode: d.rate(&rl.Caller)},
		})
	}
}

// rate decodes {rate: "100/s", burst: 200}. A missing burst equals the
// rate per second, rounded up, and at least 1.
func (d *decoder) rate(dst **limits.Rate) decodeFunc {
	return func(n *yaml.Node, path string) {
		r := &limits.Rate{}
		burstSet := false
		d.object(n, path, []field{
			{name: "rate", required: true, decode: func(v *yaml.Node, at string) {
				if !d.scalar(v, at, strTag, `a rate such as "100/s"`) {
					return
				}
				ps, err := limits.ParseRate(v.Value)
				if err != nil {
					d.errorf(v, at, "%v", err)
					return
				}
				r.PerSecond = ps
			}},
			{name: "burst", decode: func(v *yaml.Node, at string) {
				burstSet = true
				d.integer(&r.Burst, 1, maxBurst)(v, at)
			}},
		})
		if r.PerSecond == 0 {
			return
		}
		if !burstSet {
			r.Burst = max(1, int(math.Ceil(r.PerSecond)))
		}
		*dst = r
	}
}

// budget decodes the budget mapping.
func (d *decoder) budget(dst **limits.Budget) decodeFunc {
	return func(n *yaml.Node, path string) {
		b := &limits.Budget{Window: DefaultBudgetWindow}
		before := len(d.errs)
		d.object(n, path, []field{
			{name: "window", decode: func(v *yaml.Node, at string) {
				var name string
				d.text(&name, checkWindow)(v, at)
				b.Window = limits.Window(name)
			}},
			{name: "invocations", decode: func(v *yaml.Node, at string) {
				if !d.scalar(v, at, intTag, "an integer") {
					return
				}
				if i, ok := d.int64(v, at); ok && inRange(d, v, at, i, 1, maxBudgetInvocations, formatInt) {
					b.Invocations = i
				}
			}},
			{name: "compute", decode: func(v *yaml.Node, at string) {
				f, ok := d.number(v, at, "GB-seconds, such as 3600")
				switch {
				case !ok:
				case f <= 0 || f > maxBudgetCompute:
					d.errorf(v, at, "compute budget must be above 0 and at most %g GB-seconds", float64(maxBudgetCompute))
				default:
					b.ComputeGBs = f
				}
			}},
			{name: "request_bytes", decode: d.size(&b.RequestBytes, 1, maxBudgetBytes)},
		})
		if len(d.errs) > before {
			return
		}
		if b.Invocations == 0 && b.ComputeGBs == 0 && b.RequestBytes == 0 {
			d.errorf(n, path, "a budget caps at least one of invocations, compute or request_bytes")
			return
		}
		*dst = b
	}
}

func checkWindow(s string) error {
	if _, err := limits.ParseWindow(s); err != nil {
		return fmt.Errorf("unsupported window %s: %w", quote(s), err)
	}
	return nil
}

// number decodes an integer or a finite float scalar.
func (d *decoder) number(n *yaml.Node, path, want string) (float64, bool) {
	if !d.kind(n, path, yaml.ScalarNode, want) {
		return 0, false
	}
	tag := n.ShortTag()
	var f float64
	if (tag != intTag && tag != floatTag) || n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		d.errorf(n, path, "expected %s, found %s", want, describe(n))
		return 0, false
	}
	return f, true
}

// Capabilities are what a function may touch beyond its request and
// response; everything is denied unless granted here.
type Capabilities struct {
	Secrets []string          `json:"secrets,omitempty"`
	KV      map[string]string `json:"kv,omitempty"` // bucket to KVRead or KVWrite
	HTTP    []string          `json:"http,omitempty"`
	Invoke  []string          `json:"invoke,omitempty"`
	Publish []string          `json:"publish,omitempty"`
}

// Access levels of a kv grant.
const (
	KVRead  = "read"
	KVWrite = "write"
)

// Granted reports whether the capability group named capability (one of
// abi.CapabilityGroups) has any grant.
func (c *Capabilities) Granted(capability string) bool {
	return c.Count(capability) > 0
}

// Count returns how many grants the capability group named capability
// (one of abi.CapabilityGroups) has: 0 for a group it does not know.
func (c *Capabilities) Count(capability string) int {
	switch capability {
	case abi.CapabilitySecrets:
		return len(c.Secrets)
	case abi.CapabilityKV:
		return len(c.KV)
	case abi.CapabilityHTTP:
		return len(c.HTTP)
	case abi.CapabilityInvoke:
		return len(c.Invoke)
	case abi.CapabilityPublish:
		return len(c.Publish)
	}
	return 0
}

const maxGrants = 64

var (
	secretNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	bucketPattern     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	topicPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}(\.[a-z0-9][a-z0-9_-]{0,63}){0,7}$`)
	hostGrantPattern  = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$`)
)

func checkSecretName(s string) error {
	if !secretNamePattern.MatchString(s) {
		return fmt.Errorf("invalid secret name %s: a letter, then up to 127 letters, digits, '_', '.' or '-'", quote(s))
	}
	return nil
}

// ValidTopic reports whether s may name an event topic: up to eight
// dot-separated lowercase words, such as orders.created.
func ValidTopic(s string) bool { return topicPattern.MatchString(s) }

func checkTopic(s string) error {
	if !topicPattern.MatchString(s) {
		return fmt.Errorf("invalid topic %s: dot-separated lowercase words such as orders.created", quote(s))
	}
	return nil
}

func checkHostGrant(s string) error {
	if !hostGrantPattern.MatchString(s) {
		return fmt.Errorf("invalid host %s: a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443", quote(s))
	}
	if _, port, ok := strings.Cut(s, ":"); ok {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("invalid port in %s", quote(s))
		}
	}
	return nil
}

// capabilities decodes the capabilities mapping.
func (d *decoder) capabilities(c *Capabilities) decodeFunc {
	return func(n *yaml.Node, path string) {
		d.object(n, path, []field{
			{name: abi.CapabilitySecrets, decode: d.stringList(&c.Secrets, maxGrants, checkSecretName)},
			{name: abi.CapabilityKV, decode: d.kvGrants(&c.KV)},
			{name: abi.CapabilityHTTP, decode: d.stringList(&c.HTTP, maxGrants, checkHostGrant)},
			{name: abi.CapabilityInvoke, decode: d.stringList(&c.Invoke, maxGrants, checkName)},
			{name: abi.CapabilityPublish, decode: d.stringList(&c.Publish, maxGrants, checkTopic)},
		})
	}
}

// kvGrants decodes {bucket: read|write}.
func (d *decoder) kvGrants(dst *map[string]string) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.MappingNode, "a mapping of bucket names to read or write") {
			return
		}
		if len(n.Content)/2 > maxGrants {
			d.errorf(n, path, "%d buckets; at most %d", len(n.Content)/2, maxGrants)
			return
		}
		out := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, ok := d.key(k, path)
			if !ok {
				continue
			}
			at := join(path, name)
			if !bucketPattern.MatchString(name) {
				d.errorf(k, at, "invalid bucket name %s: a lowercase letter, then up to 31 lowercase letters, digits or '-'", quote(name))
				continue
			}
			if _, dup := out[name]; dup {
				d.errorf(k, at, "bucket %s is granted twice", quote(name))
				continue
			}
			var access string
			d.text(&access, func(s string) error {
				if s != KVRead && s != KVWrite {
					return fmt.Errorf("unsupported access %s: use read or write", quote(s))
				}
				return nil
			})(v, at)
			if access != "" {
				out[name] = access
			}
		}
		*dst = out
	}
}
