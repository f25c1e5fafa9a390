// Package manifest parses and validates pave.yaml, the file that describes
// one function to the platform: its name and owner, where its code lives,
// the HTTP routes that reach it, the topics and schedules that trigger it,
// how its asynchronous calls are retried and the resources it may use.
//
// The parser is deliberately strict. A manifest decides who can call a
// function and how much of the machine it may take, so a mistake that is
// silently ignored is a mistake that ships: a misspelt "pubilc" that is
// dropped leaves a route closed when its author meant to open it, and a
// misspelt "timout" leaves a limit at its default when its author meant to
// change it. So every field must be known, every value must have the
// expected type and lie within its bounds, and anything YAML allows that
// makes a file harder to read than it looks (anchors, aliases, merge keys,
// several documents in one file) is refused rather than interpreted.
//
// Routes are closed by default: a route requires an API key unless it says
// public: true, which is the only way to open one.
//
// Problems are reported all at once, not one at a time, each with the file,
// line, column and dotted field path it concerns, so that an author can fix
// a manifest in one pass and tools can point at the offending line.
package manifest

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

// A Manifest is a validated pave.yaml.
type Manifest struct {
	Name        string
	Owner       string
	Description string
	Module      string // as written; DefaultModule if absent
	// Runtime is the language the function is written in: RuntimeGo
	// (the default), or RuntimeJS for JavaScript and TypeScript.
	Runtime string
	// Main is the entry point of a RuntimeJS function, a slash-separated
	// path relative to the manifest's directory; empty for RuntimeGo.
	Main      string
	Routes    []Route
	Limits    Limits
	RateLimit RateLimits
	Budget    *limits.Budget // nil: the daemon's default budget
	// Capabilities are the function's grants; none by default.
	Capabilities Capabilities
	// Triggers run the function on events other than HTTP requests.
	Triggers []Trigger
	// Async is how asynchronous calls of the function are retried and
	// where their results may be sent.
	Async Async
	File  string // the file name given to Parse

	lines map[string]int // see Line
}

// Line returns the line of the file on which the field or list entry at
// path is written ("owner", "limits.timeout", "capabilities.http[1]"), or
// else the line of the nearest field that holds it; 0 if none is written
// (a default), or for a manifest that was not parsed.
func (m *Manifest) Line(path string) int {
	for path != "" {
		if line, ok := m.lines[path]; ok {
			return line
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
	return 0
}

// A Route is one HTTP entry point to a function.
type Route struct {
	Method string // upper case
	Path   string
	Auth   string // AuthAPIKey, AuthJWT or AuthWebhook; "" for public routes
	Public bool
	// Scopes are required of the caller: held by its API key, or granted
	// by its JWT.
	Scopes  []string        `json:",omitempty"`
	JWT     *JWTRequirement `json:",omitempty"` // with AuthJWT
	Webhook *Webhook        `json:",omitempty"` // with AuthWebhook
	Schema  *Schemas        `json:",omitempty"` // input contracts
	// Unredacted, when set, is the reason this route's responses are not
	// redacted: the values of granted secrets pass in its response headers
	// and bodies (never in log lines or error causes).
	Unredacted string `json:",omitempty"`
	Line       int    // line of the route entry in the file, for messages
}

// SchemaRefs returns the route's schemas, body first, skipping absent ones.
func (r *Route) SchemaRefs() []*SchemaRef {
	if r.Schema == nil {
		return nil
	}
	var out []*SchemaRef
	for _, s := range []*SchemaRef{r.Schema.Body, r.Schema.Query} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// AllSchemaRefs returns every schema the manifest declares: those of its
// routes, in order and each as SchemaRefs returns them, then those of its
// topic triggers. The pointers are the manifest's own, so that a deployer
// can resolve and digest each schema in place.
func (m *Manifest) AllSchemaRefs() []*SchemaRef {
	var out []*SchemaRef
	for i := range m.Routes {
		out = append(out, m.Routes[i].SchemaRefs()...)
	}
	for _, t := range m.Triggers {
		if t.Schema != nil {
			out = append(out, t.Schema)
		}
	}
	return out
}

// Limits bounds the resources one function may use.
type Limits struct {
	Timeout     time.Duration // per invocation
	Memory      int64         // bytes
	Concurrency int           // invocations in flight at once
	MaxBody     int64         // bytes of request body
}

// Defaults and bounds. Every limit that a manifest leaves out takes its
// default; every limit that it sets must lie within [Min, Max].
const (
	DefaultTimeout = 10 * time.Second
	MinTimeout     = time.Millisecond
	MaxTimeout     = 900 * time.Second

	DefaultMemory int64 = 64 << 20
	MinMemory     int64 = 1 << 20
	MaxMemory     int64 = 4 << 30

	DefaultConcurrency = 32
	MinConcurrency     = 1
	MaxConcurrency     = 10000

	DefaultMaxBody int64 = 1 << 20
	MinMaxBody     int64 = 1
	MaxMaxBody     int64 = 64 << 20
)

const (
	// DefaultModule is the module of a manifest that names none: the Go
	// package in the manifest's own directory.
	DefaultModule = "."

	// RuntimeGo is a function built from a Go package with the pave SDK,
	// or a prebuilt .wasm module: the default runtime.
	RuntimeGo = "go"
	// RuntimeJS is a JavaScript or TypeScript function: its main file and
	// what it imports are bundled and run by pave's JavaScript engine.
	RuntimeJS = "js"

	// MaxMainLength is the longest main path, in bytes.
	MaxMainLength = 256

	// AuthAPIKey is the authentication every non-public route requires.
	AuthAPIKey = "api-key"

	// MaxFileSize is the largest manifest accepted, in bytes.
	MaxFileSize = 256 << 10

	// MaxRoutes is the most routes one function may have.
	MaxRoutes = 64

	// MaxErrors is the most errors one call to Parse reports.
	MaxErrors = 20
)

// DefaultLimits returns the limits of a manifest that sets none.
func DefaultLimits() Limits {
	return Limits{
		Timeout:     DefaultTimeout,
		Memory:      DefaultMemory,
		Concurrency: DefaultConcurrency,
		MaxBody:     DefaultMaxBody,
	}
}

// Parse parses and validates the manifest in data. The file name is used
// only in error messages and in the result's File field.
//
// If the manifest has problems, Parse returns a nil Manifest and an
// ErrorList holding every problem found, sorted by position and capped at
// MaxErrors entries.
func Parse(file string, data []byte) (*Manifest, error) {
	d := &decoder{file: file}
	var m *Manifest
	if root := d.document(data); root != nil {
		m = d.manifest(root)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	m.lines = d.lines
	return m, nil
}

// ParseFile reads and parses the manifest at path, which becomes the
// result's File. It refuses files larger than MaxFileSize without reading
// them whole. Errors reading the file are returned as they are, so callers
// can test them with errors.Is(err, fs.ErrNotExist) and the like.
func ParseFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the limit: enough for Parse to see that the
	// file is too large, without holding all of it in memory.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Public reports whether any route is public.
func (m *Manifest) Public() bool {
	for _, r := range m.Routes {
		if r.Public {
			return true
		}
	}
	return false
}

// IsWasmFile reports whether Module names a prebuilt .wasm file rather
// than a Go package to build.
func (m *Manifest) IsWasmFile() bool {
	return strings.HasSuffix(m.Module, ".wasm")
}

// Pattern returns the route's method and path with parameter names erased,
// the key on which two routes collide: "GET /users/{}", "GET /files/{...}".
// A route whose path is not valid has its path returned unchanged.
func (r Route) Pattern() string {
	segs, err := ParsePath(r.Path)
	if err != nil {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + erasePath(segs)
}
