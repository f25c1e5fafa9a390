package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/manifest"
)

var serveCommand = &command{
	name:    "serve",
	summary: "run the pave daemon",
	// serve's help and flags belong to config.ParseServe.
	run: runServe,
}

func runServe(ctx context.Context, inv *invocation, args []string) error {
	var usage strings.Builder
	cfg, err := config.ParseServe(args, inv.getenv, &usage)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(inv.stdout, usage.String())
		return err
	}
	if err != nil {
		return serveFlagsError(inv, err)
	}
	log := slog.New(slog.NewJSONHandler(inv.stderr, nil))
	ctx, stop := signalContext(ctx)
	defer stop()
	return daemon.Run(ctx, cfg, log)
}

// serveFlagsError reports a problem config.ParseServe found in the flags
// of serve or up, which may be several, one a line.
func serveFlagsError(inv *invocation, err error) error {
	return inv.usageErrorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM. The signals are then let through again, so that a second
// Ctrl-C ends a shutdown that takes too long.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

var upCommand = &command{
	name:    "up",
	summary: "run pave locally with the examples deployed (start here)",
	help: `
Runs pave in the foreground with the examples of the pave source checkout
it is started in: it builds and deploys every examples/*/pave.yaml, creates
an API key named "examples" that may call them (revoking an earlier one),
and prints the gateway's address, the key, and a curl command for each
route. The key is shown this once only. Ctrl-C stops pave.

The first build of an example compiles Go's standard library for
WebAssembly, which can take minutes on a fresh machine: up prints each
example it builds, "still building ..." every ten seconds while a build
runs, and how long a build or deploy took when it took over two seconds.

up takes every flag of 'pave serve' (see 'pave serve --help') and the one
below. The daemon logs to stderr as JSON, warnings and errors only unless
--verbose is set.`,
	run: runUp,
}

// examplesDir is the directory of a pave checkout that up deploys.
const examplesDir = "examples"

func runUp(ctx context.Context, inv *invocation, args []string) (err error) {
	verbose := inv.fs.Bool("verbose", false, "log informational messages of the daemon too")
	serveArgs, err := takeUpFlags(inv, args)
	if err != nil {
		return err
	}
	cfg, err := config.ParseServe(serveArgs, inv.getenv, io.Discard)
	if err != nil {
		return serveFlagsError(inv, err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(inv.stderr, &slog.HandlerOptions{Level: level}))

	srcs, err := findExamples()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = errors.New("interrupted")
		}
	}()

	// Build everything before starting anything: a broken example is
	// found without a daemon to stop.
	// The first build of each compiles Go's standard library for
	// WebAssembly, and its first deploy compiles it to machine code: both
	// report that they are still going.
	prog := newProgress(inv.stderr)
	for _, src := range srcs {
		built := func(w io.Writer) error { return src.build(ctx, w) }
		if err := prog.step(task{doing: "building", done: "built", what: src.dir, announce: true}, built); err != nil {
			return err
		}
	}

	d, err := daemon.New(cfg, log)
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return fmt.Errorf("starting pave: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if serr := d.Shutdown(sctx); serr != nil && err == nil {
			err = fmt.Errorf("stopping pave: %w", serr)
		}
	}()

	token, err := config.ReadTokenFile(cfg.AdminTokenFile())
	if err != nil {
		return err
	}
	// The admin listener's own certificate is trusted, self-signed or not.
	admin, err := newClient(d.AdminURL(), token.Reveal(), cfg.AdminTLS.CertFile)
	if err != nil {
		return err
	}
	fns, key, err := deployExamples(ctx, admin, srcs, prog)
	if err != nil {
		return err
	}
	printWelcome(inv.stdout, d, cfg, key, fns)
	<-ctx.Done()
	fmt.Fprintln(inv.stderr, "stopping pave (Ctrl-C again to force)")
	return nil
}

// examplesKey is the name of the API key that up creates.
const examplesKey = "examples"

// deployExamples deploys the built examples, reporting a slow deploy to
// prog, and replaces the key that may call them. It returns the functions
// deployed and the key's secret.
func deployExamples(ctx context.Context, c *client.Client, srcs []*source, prog *progress) ([]*client.Function, string, error) {
	fns := make([]*client.Function, 0, len(srcs))
	names := make([]string, 0, len(srcs))
	for _, src := range srcs {
		var fn *client.Function
		err := prog.step(task{doing: "deploying", done: "deployed", what: src.m.Name}, func(io.Writer) (err error) {
			fn, err = src.deploy(ctx, c)
			return err
		})
		if err != nil {
			return nil, "", err
		}
		fns = append(fns, fn)
		names = append(names, fn.Name)
	}
	if err := c.RevokeKey(ctx, examplesKey); err != nil && !client.IsNotFound(err) {
		return nil, "", fmt.Errorf("revoking the earlier %q key: %w", examplesKey, err)
	}
	key, err := c.CreateKey(ctx, client.CreateKeyRequest{Name: examplesKey, Functions: names})
	if err != nil {
		return nil, "", fmt.Errorf("creating the %q key: %w", examplesKey, err)
	}
	return fns, key.Secret, nil
}

// takeUpFlags handles up's own flags in args and returns the rest, which
// are serve's flags.
func takeUpFlags(inv *invocation, args []string) ([]string, error) {
	var rest []string
	for i, arg := range args {
		if arg == "--" {
			return append(rest, args[i:]...), nil
		}
		if isHelp(arg) {
			return nil, flag.ErrHelp
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || inv.fs.Lookup(name) == nil {
			rest = append(rest, arg)
			continue
		}
		if !hasValue {
			value = "true" // up's flags are booleans
		}
		if err := inv.fs.Set(name, value); err != nil {
			return nil, inv.usageErrorf("invalid value %q for flag -%s: %v", value, name, err)
		}
	}
	return rest, nil
}

// findExamples returns the examples of the pave checkout in the working
// directory, with their manifests parsed.
func findExamples() ([]*source, error) {
	info, err := os.Stat(examplesDir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !info.IsDir() {
		wd, _ := os.Getwd()
		return nil, fmt.Errorf("pave up deploys the examples of a pave source checkout, and %s has no %s/ directory: run it from the top of a checkout", wd, examplesDir)
	}
	if err != nil {
		return nil, err
	}
	pattern := filepath.Join(examplesDir, "*", manifestName)
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no %s to deploy", pattern)
	}
	srcs := make([]*source, 0, len(paths))
	for _, p := range paths {
		src, err := loadSource(p)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// printWelcome prints what up started and how to try it.
func printWelcome(w io.Writer, d *daemon.Daemon, cfg config.Config, key string, fns []*client.Function) {
	fmt.Fprintf(w, "\npave is up with %d example function%s.\n\n", len(fns), plural(len(fns)))
	tw := newTable(w)
	fmt.Fprintf(tw, "  gateway\t%s\n", d.GatewayURL())
	fmt.Fprintf(tw, "  admin API\t%s (token in %s)\n", d.AdminURL(), cfg.AdminTokenFile())
	fmt.Fprintf(tw, "  API key\t%s\n", key)
	tw.Flush()

	fmt.Fprint(w, "\nThe key may call the examples; it is shown this once only. Try them:\n\n")
	for _, fn := range fns {
		for _, r := range fn.Routes {
			fmt.Fprintf(w, "  %s\n", curlCommand(d.GatewayURL(), r, key))
		}
	}

	dataFlag := ""
	if cfg.DataDir != config.DefaultDataDir {
		dataFlag = " --data " + shellQuote(cfg.DataDir)
	}
	fmt.Fprintf(w, "\nList them with 'pave ls%s'. Press Ctrl-C to stop.\n", dataFlag)
}

// sampleBody is the request body of the curl commands up prints.
const sampleBody = `{"hello":"world"}`

// curlCommand returns a curl command line that calls a route through the
// gateway with an API key, filling its path parameters with their names.
func curlCommand(gatewayURL string, r client.Route, key string) string {
	args := []string{"curl"}
	switch r.Method {
	case "GET", "POST":
	case "HEAD":
		args = append(args, "-I")
	default:
		args = append(args, "-X", r.Method)
	}
	if !r.Public {
		args = append(args, "-H", shellQuote("Authorization: Bearer "+key))
	}
	switch r.Method {
	case "POST", "PUT", "PATCH":
		args = append(args, "-H", shellQuote("Content-Type: application/json"), "-d", shellQuote(sampleBody))
	}
	return strings.Join(append(args, shellQuote(gatewayURL+samplePath(r.Path))), " ")
}

// samplePath fills the parameters of a route path with their names:
// "/users/{id}" becomes "/users/id".
func samplePath(path string) string {
	segs, err := manifest.ParsePath(path)
	if err != nil || len(segs) == 0 {
		return path
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.Param != "" {
			b.WriteString(s.Param)
		} else {
			b.WriteString(s.Literal)
		}
	}
	return b.String()
}
