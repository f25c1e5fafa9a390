// Package config holds the daemon's typed configuration: its defaults, its
// validation, and the one place that reads flags and environment variables.
//
// Every other package receives a validated Config (or a part of it) as a
// plain value and never looks at the process environment itself; that keeps
// subsystems testable and makes the full set of knobs visible in one file.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/secret"
)

// Defaults. The listeners bind to loopback: exposing pave is a decision the
// operator makes explicitly.
const (
	DefaultDataDir         = "./pave-data"
	DefaultGatewayAddr     = "127.0.0.1:8080"
	DefaultAdminAddr       = "127.0.0.1:8081"
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultMaxLoadedModules bounds the compiled code held in memory: a
	// loaded Go module of a few megabytes holds 13 to 15 MiB.
	DefaultMaxLoadedModules = 64
)

// Environment variables that override defaults (flags override both).
const (
	EnvDataDir         = "PAVE_DATA"
	EnvGatewayAddr     = "PAVE_LISTEN"
	EnvAdminAddr       = "PAVE_ADMIN"
	EnvNATSURL         = "PAVE_NATS_URL"
	EnvReplicas        = "PAVE_REPLICAS"
	EnvShutdownTimeout = "PAVE_SHUTDOWN_TIMEOUT"
	EnvCacheDir        = "PAVE_CACHE_DIR"
	EnvIsolation       = "PAVE_ISOLATION"
	EnvJWTIssuers      = "PAVE_JWT_ISSUERS"
	EnvFunctionRate    = "PAVE_FUNCTION_RATE"
	EnvCallerRate      = "PAVE_CALLER_RATE"
	EnvOwnerConc       = "PAVE_OWNER_CONCURRENCY"
	EnvMaxCallDepth    = "PAVE_MAX_CALL_DEPTH"
	EnvMaxCalls        = "PAVE_MAX_CALLS_PER_REQUEST"
	EnvMasterKeyFile   = "PAVE_MASTER_KEY_FILE"
	EnvMasterKey       = "PAVE_MASTER_KEY"
	EnvEgressAllow     = "PAVE_EGRESS_ALLOW"
	EnvMaxLoaded       = "PAVE_MAX_LOADED_MODULES"
	EnvCompileFirst    = "PAVE_COMPILE_BEFORE_SERVING"
)

// Isolation methods (see package runtime).
const (
	IsolationSnapshot = "snapshot"
	IsolationFresh    = "fresh"
)

// Config is the daemon's configuration.
type Config struct {
	// DataDir holds the embedded JetStream store, the compilation cache and
	// the admin token file.
	DataDir string
	// GatewayAddr is the listen address of the function gateway.
	GatewayAddr string
	// AdminAddr is the listen address of the admin API.
	AdminAddr string
	// GatewayTLS and AdminTLS are the listeners' certificates; unset, they
	// serve plain HTTP.
	GatewayTLS, AdminTLS TLS
	// NATSURL selects an external NATS server, or several servers of one
	// cluster separated by commas; empty runs one embedded in-process with
	// no network listener.
	NATSURL string
	// Replicas is how many copies the NATS cluster keeps of every stream,
	// key-value bucket and object store pave creates; existing ones are
	// changed to it at start. It needs NATSURL when above 1, and a cluster
	// of at least that many JetStream servers.
	Replicas int
	// ShutdownTimeout bounds how long in-flight invocations may run after a
	// shutdown signal.
	ShutdownTimeout time.Duration
	// CacheDir holds compiled machine code of modules; empty means
	// DataDir/cache. It is a cache: deleting it only costs compile time.
	CacheDir string
	// Isolation is how invocations get clean state: IsolationSnapshot (the
	// default) or IsolationFresh, which instantiates every module afresh
	// for every invocation and exists for comparison and troubleshooting.
	Isolation string
	// MaxLoadedModules is how many modules are kept compiled in memory;
	// loading another unloads the least recently invoked, which loads again
	// from its stored snapshot on its next call.
	MaxLoadedModules int
	// CompileBeforeServing makes a new module wait for its machine code
	// before it serves. By default wazero's interpreter serves it while
	// that compiles: the first response comes sooner, and the first
	// calls are several times slower.
	CompileBeforeServing bool
	// Defenses configures the gateway's checks.
	Defenses Defenses
	// MasterKeyFile holds the key that wraps every secret's data key; it
	// is created (mode 0600) on first start. Empty means DataDir/master.key.
	// Keep it out of backups of the data directory where possible.
	MasterKeyFile string
	// MasterKey, when set (base64, from PAVE_MASTER_KEY, for containers),
	// is used instead of the file.
	MasterKey secret.Value
	// Observability configures history, metrics, audit and posture.
	Observability Observability
	// Async configures the worker of asynchronous calls and triggers.
	Async Async
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:          DefaultDataDir,
		GatewayAddr:      DefaultGatewayAddr,
		AdminAddr:        DefaultAdminAddr,
		Replicas:         1,
		ShutdownTimeout:  DefaultShutdownTimeout,
		Isolation:        IsolationSnapshot,
		MaxLoadedModules: DefaultMaxLoadedModules,
		Defenses:         DefaultDefenses(),
		Observability:    DefaultObservability(),
		Async:            DefaultAsync(),
	}
}

// Validate reports every problem with c, or nil.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data directory must not be empty"))
	}
	for _, l := range []struct{ name, addr string }{
		{"--listen", c.GatewayAddr},
		{"--admin", c.AdminAddr},
	} {
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port", l.name, l.addr))
		}
	}
	if c.GatewayAddr == c.AdminAddr && !strings.HasSuffix(c.GatewayAddr, ":0") {
		errs = append(errs, fmt.Errorf("--listen and --admin must differ (both %q)", c.GatewayAddr))
	}
	if c.NATSURL != "" {
		// A comma-separated list names several servers of one cluster, as
		// the NATS client takes it: it connects to any and reconnects to
		// another when that one goes away.
		for _, s := range strings.Split(c.NATSURL, ",") {
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls") {
				errs = append(errs, fmt.Errorf("--nats-url %q: want nats://host:port or tls://host:port, or several separated by commas", c.NATSURL))
				break
			}
		}
	}
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		errs = append(errs, fmt.Errorf("--replicas %d: want 1 to 5 (JetStream's most)", c.Replicas))
	case c.Replicas > 1 && c.NATSURL == "":
		errs = append(errs, fmt.Errorf("--replicas %d needs a NATS cluster (--nats-url): the embedded server keeps one copy", c.Replicas))
	}
	if c.Isolation != IsolationSnapshot && c.Isolation != IsolationFresh {
		errs = append(errs, fmt.Errorf("--isolation %q: want %s or %s", c.Isolation, IsolationSnapshot, IsolationFresh))
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %s: want a duration between 0 and 15m", c.ShutdownTimeout))
	}
	if d := c.Defenses; d.OwnerConcurrency < 0 || d.OwnerConcurrency > 1_000_000 {
		errs = append(errs, fmt.Errorf("--owner-concurrency %d: want 0 (no bound) to 1000000", d.OwnerConcurrency))
	}
	if c.MaxLoadedModules < 1 || c.MaxLoadedModules > 100_000 {
		errs = append(errs, fmt.Errorf("--max-loaded-modules %d: want 1 to 100000", c.MaxLoadedModules))
	}
	if d := c.Defenses; d.MaxCallDepth < 1 || d.MaxCallDepth > 64 {
		errs = append(errs, fmt.Errorf("--max-call-depth %d: want 1 to 64", d.MaxCallDepth))
	}
	if d := c.Defenses; d.MaxCalls < 1 || d.MaxCalls > 100_000 {
		errs = append(errs, fmt.Errorf("--max-calls-per-request %d: want 1 to 100000", d.MaxCalls))
	}
	errs = append(errs, c.validateTLS()...)
	errs = append(errs, c.Observability.validate()...)
	errs = append(errs, c.Async.validate()...)
	return errors.Join(errs...)
}

// MasterKeyPath is the master key file in use.
func (c Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// AdminTokenFile is where the daemon writes the admin token on first start.
func (c Config) AdminTokenFile() string { return filepath.Join(c.DataDir, "admin.token") }

// CompileCacheDir is where compiled modules are cached.
func (c Config) CompileCacheDir() string {
	if c.CacheDir != "" {
		return c.CacheDir
	}
	return filepath.Join(c.DataDir, "cache")
}

// AdminURLFile is where the daemon writes the admin API's URL while it runs,
// so that the CLI can find a daemon started with --admin 127.0.0.1:0.
func (c Config) AdminURLFile() string { return filepath.Join(c.DataDir, "admin.url") }

// ParseServe builds the configuration of `pave serve` from its arguments and
// the environment (getenv is os.Getenv in production). Precedence: flag,
// then environment variable, then default. The result is validated.
func ParseServe(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("pave serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pave serve [flags]\n\nRuns the pave daemon: the gateway, the admin API and, unless --nats-url is set, an embedded NATS JetStream.\n\nFlags (each also read from the environment variable shown):\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.DataDir, "data", envOr(getenv, EnvDataDir, c.DataDir), "data directory ("+EnvDataDir+")")
	fs.StringVar(&c.GatewayAddr, "listen", envOr(getenv, EnvGatewayAddr, c.GatewayAddr), "gateway listen address ("+EnvGatewayAddr+")")
	fs.StringVar(&c.AdminAddr, "admin", envOr(getenv, EnvAdminAddr, c.AdminAddr), "admin API listen address ("+EnvAdminAddr+")")
	fs.StringVar(&c.NATSURL, "nats-url", envOr(getenv, EnvNATSURL, c.NATSURL), "external NATS server URL, or several of one cluster separated by commas; empty embeds one ("+EnvNATSURL+")")
	fs.StringVar(&c.CacheDir, "cache-dir", envOr(getenv, EnvCacheDir, c.CacheDir), "compiled-module cache; default DATA/cache ("+EnvCacheDir+")")
	fs.StringVar(&c.Isolation, "isolation", envOr(getenv, EnvIsolation, c.Isolation), "clean state per invocation: snapshot or fresh ("+EnvIsolation+")")
	timeout := envOr(getenv, EnvShutdownTimeout, c.ShutdownTimeout.String())
	fs.Func("shutdown-timeout", "how long in-flight invocations may finish after SIGTERM ("+EnvShutdownTimeout+", default "+c.ShutdownTimeout.String()+")", func(s string) error {
		timeout = s
		return nil
	})
	fs.StringVar(&c.MasterKeyFile, "master-key-file", envOr(getenv, EnvMasterKeyFile, c.MasterKeyFile), "file of the secrets' master key, created 0600 if absent; default DATA/master.key ("+EnvMasterKeyFile+"; "+EnvMasterKey+" gives the key itself, base64)")
	c.MasterKey = secret.Value(getenv(EnvMasterKey))
	egressAllow := envOr(getenv, EnvEgressAllow, "")
	fs.StringVar(&egressAllow, "egress-allow", egressAllow, "comma-separated non-public networks the http capability may reach, such as 10.1.0.0/16 ("+EnvEgressAllow+")")
	issuers := envOr(getenv, EnvJWTIssuers, "")
	fs.StringVar(&issuers, "jwt-issuers", issuers, "JSON file of trusted JWT issuers ("+EnvJWTIssuers+"; see docs/OPERATIONS.md)")
	rates := []*rateFlag{
		{name: "function-rate", env: EnvFunctionRate, usage: "default rate limit of a function, RATE[:BURST] such as 100/s:200", dst: &c.Defenses.FunctionRate},
		{name: "caller-rate", env: EnvCallerRate, usage: "default rate limit of each caller of a function, RATE[:BURST]", dst: &c.Defenses.CallerRate},
	}
	for _, r := range rates {
		r.value = envOr(getenv, r.env, formatRateFlag(*r.dst))
		fs.Func(r.name, r.usage+" ("+r.env+", default "+r.value+")", func(s string) error {
			r.value = s
			return nil
		})
	}
	ints := []struct {
		name, env, usage string
		dst              *int
	}{
		{"owner-concurrency", EnvOwnerConc, "invocations in flight for all functions of one owner; 0: no bound", &c.Defenses.OwnerConcurrency},
		{"max-call-depth", EnvMaxCallDepth, "longest chain of function-to-function calls", &c.Defenses.MaxCallDepth},
		{"max-calls-per-request", EnvMaxCalls, "invocations one request, event or tick may cause in all, its own included", &c.Defenses.MaxCalls},
		{"max-loaded-modules", EnvMaxLoaded, "modules kept compiled in memory; beyond it the least recently invoked is unloaded", &c.MaxLoadedModules},
		{"replicas", EnvReplicas, "copies the NATS cluster keeps of every stream and bucket pave creates, existing ones changed at start; 3 on a cluster", &c.Replicas},
	}
	for _, n := range ints {
		if v := getenv(n.env); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				return Config{}, fmt.Errorf("%s %q: want a whole number", n.env, v)
			}
			*n.dst = i
		}
		fs.IntVar(n.dst, n.name, *n.dst, n.usage+" ("+n.env+")")
	}
	if v := getenv(EnvCompileFirst); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s %q: want true or false", EnvCompileFirst, v)
		}
		c.CompileBeforeServing = b
	}
	fs.BoolVar(&c.CompileBeforeServing, "compile-before-serving", c.CompileBeforeServing,
		"a new module serves only once compiled to machine code, instead of on the interpreter meanwhile ("+EnvCompileFirst+")")
	finishTLS := c.tlsFlags(fs, getenv)
	finishObservability := c.observabilityFlags(fs, getenv)
	finishAsync := c.asyncFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	finishTLS()
	if err := finishObservability(); err != nil {
		return Config{}, err
	}
	if err := finishAsync(); err != nil {
		return Config{}, err
	}
	if err := c.parseDefenses(issuers, rates); err != nil {
		return Config{}, err
	}
	nets, err := parseNets(egressAllow)
	if err != nil {
		return Config{}, fmt.Errorf("--egress-allow: %w", err)
	}
	c.Defenses.EgressAllow = nets
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("pave serve takes no arguments, got %q", fs.Arg(0))
	}
	d, err := time.ParseDuration(timeout)
	if err != nil {
		return Config{}, fmt.Errorf("shutdown timeout %q: %v", timeout, err)
	}
	c.ShutdownTimeout = d
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// rateFlag is a rate limit flag, parsed after all flags are read.
type rateFlag struct {
	name, env, usage, value string
	dst                     *limits.Rate
}

// parseDefenses finishes the defences' flags: it parses the rate flags and
// loads the issuers file.
func (c *Config) parseDefenses(issuersFile string, rates []*rateFlag) error {
	var errs []error
	for _, r := range rates {
		rate, err := parseRateFlag(r.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: %v", r.name, r.value, err))
			continue
		}
		*r.dst = rate
	}
	if issuersFile != "" {
		iss, err := LoadIssuers(issuersFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--jwt-issuers: %w", err))
		}
		c.Defenses.Issuers = iss
	}
	return errors.Join(errs...)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
