package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/keyfile"
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
it is started in: it builds and deploys every examples/*/pave.yaml (an
example that is deployed as it is already stays as it is), and prints the
gateway's address, an API key named "examples" that may call them, and a
curl command for each route. A route with a parameter after a POST route
of its collection, such as GET /notes/{id} after POST /notes, gets a real
value: up creates one item through the POST route first.

The key is kept in the data directory (examples.key, mode 0600), so a
restart prints the same key and curl lines saved before keep working. A
new key is made, and up says so, only when that one was revoked, expired
or replaced. Ctrl-C stops pave.

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
	c, err := newClient(d.AdminURL(), token.Reveal(), cfg.AdminTLS.CertFile)
	if err != nil {
		return err
	}
	fns, key, err := deployExamples(ctx, c, srcs, prog, examplesKeyFile(cfg))
	if err != nil {
		return err
	}
	if key.note != "" {
		fmt.Fprintln(inv.stderr, key.note)
	}
	samples := sampleParams(ctx, c, fns, inv.stderr)
	printWelcome(inv.stdout, welcome{d: d, cfg: cfg, key: key, fns: fns, samples: samples, pave: paveCommand(inv.getenv)})
	<-ctx.Done()
	fmt.Fprintln(inv.stderr, "stopping pave (Ctrl-C again to force)")
	return nil
}

// examplesKey is the name of the API key that up creates.
const examplesKey = "examples"

// deployExamples deploys the built examples, reporting a slow deploy to
// prog, and returns the functions deployed with the key that may call
// them (see examplesKeyFor).
func deployExamples(ctx context.Context, c *client.Client, srcs []*source, prog *progress, keyFile string) ([]*client.Function, upKey, error) {
	fns := make([]*client.Function, 0, len(srcs))
	names := make([]string, 0, len(srcs))
	for _, src := range srcs {
		var fn *client.Function
		err := prog.step(task{doing: "deploying", done: "deployed", what: src.m.Name}, func(io.Writer) (err error) {
			fn, err = src.deploy(ctx, c)
			return err
		})
		if err != nil {
			return nil, upKey{}, err
		}
		fns = append(fns, fn)
		names = append(names, fn.Name)
	}
	key, err := examplesKeyFor(ctx, c, names, keyFile)
	return fns, key, err
}

// upKey is the key up prints.
type upKey struct {
	secret string
	// reused is true when it is the key of an earlier run.
	reused bool
	// note says why the key of an earlier run was replaced, if it was.
	note string
}

// examplesKeyFile is where up keeps the secret of its key.
func examplesKeyFile(cfg config.Config) string { return filepath.Join(cfg.DataDir, "examples.key") }

// examplesKeyFor returns the key named examplesKey that may call the
// functions names. The key of an earlier run is reused when file still
// holds its secret and it is active, with functions it lacks added; else
// an earlier key is revoked, a new one created and its secret saved in
// file, with a note saying why.
//
// file holds the key's creation time and its secret: the daemon keeps only
// a hash of the secret, and the creation time tells whether the key of
// that name is still the one whose secret the file holds.
func examplesKeyFor(ctx context.Context, c *client.Client, names []string, file string) (upKey, error) {
	saved, savedAt, err := loadExamplesKey(file)
	if err != nil {
		return upKey{}, err
	}
	keys, err := c.ListKeys(ctx)
	if err != nil {
		return upKey{}, err
	}
	var live *client.Key
	for i := range keys {
		if keys[i].Name == examplesKey && keyStatus(keys[i], time.Now()) == "active" {
			live = &keys[i]
		}
	}
	if live != nil && saved != "" && live.CreatedAt.Equal(savedAt) {
		var missing []string
		for _, name := range names {
			if !slices.Contains(live.Functions, name) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			if _, err := c.UpdateKey(ctx, examplesKey, client.UpdateKeyRequest{AddFunctions: missing}); err != nil {
				return upKey{}, fmt.Errorf("adding %s to the %q key: %w", strings.Join(missing, ", "), examplesKey, err)
			}
		}
		return upKey{secret: saved, reused: true}, nil
	}

	var note string
	switch {
	case live != nil:
		if err := c.RevokeKey(ctx, examplesKey); err != nil {
			return upKey{}, fmt.Errorf("revoking the earlier %q key: %w", examplesKey, err)
		}
		note = fmt.Sprintf("Revoked the earlier %q key, whose secret %s does not hold: this is a new key, and curl lines saved before now get 401.", examplesKey, file)
	case saved != "":
		note = fmt.Sprintf("The %q key of an earlier run was revoked, expired or removed: this is a new key, and curl lines saved before get 401.", examplesKey)
	}
	key, err := c.CreateKey(ctx, client.CreateKeyRequest{Name: examplesKey, Functions: names})
	if err != nil {
		return upKey{}, fmt.Errorf("creating the %q key: %w", examplesKey, err)
	}
	if err := saveExamplesKey(file, key.Key.CreatedAt, key.Secret); err != nil {
		return upKey{}, err
	}
	return upKey{secret: key.Secret, note: note}, nil
}

// loadExamplesKey reads the file saveExamplesKey writes; none gives "".
func loadExamplesKey(file string) (secret string, createdAt time.Time, err error) {
	line, err := keyfile.Load(file, "examples key file")
	if errors.Is(err, fs.ErrNotExist) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	at, secret, ok := strings.Cut(string(line), " ")
	t, perr := time.Parse(time.RFC3339Nano, at)
	if !ok || perr != nil || secret == "" {
		// Not what up writes: a new key replaces it.
		return "", time.Time{}, nil
	}
	return secret, t, nil
}

// saveExamplesKey replaces file with the key's creation time and secret.
func saveExamplesKey(file string, createdAt time.Time, secret string) error {
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return keyfile.Create(file, "examples key file", []byte(createdAt.UTC().Format(time.RFC3339Nano)+" "+secret))
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

// welcome is what up tells its user once pave is up.
type welcome struct {
	d       *daemon.Daemon
	cfg     config.Config
	key     upKey
	fns     []*client.Function
	samples map[string]map[string]string
	// pave is how the user runs pave: "pave" or a path.
	pave string
}

// printWelcome prints what up started and how to try it.
func printWelcome(w io.Writer, wl welcome) {
	d, cfg, key, fns := wl.d, wl.cfg, wl.key, wl.fns
	fmt.Fprintf(w, "\npave is up with %d example function%s.\n\n", len(fns), plural(len(fns)))
	tw := newTable(w)
	fmt.Fprintf(tw, "  gateway\t%s\n", d.GatewayURL())
	fmt.Fprintf(tw, "  admin API\t%s (token in %s)\n", d.AdminURL(), cfg.AdminTokenFile())
	fmt.Fprintf(tw, "  API key\t%s\n", key.secret)
	tw.Flush()

	kept := "it is kept in " + examplesKeyFile(cfg) + " for the next 'pave up'"
	if key.reused {
		kept = "it is the key of the earlier run, kept in " + examplesKeyFile(cfg)
	}
	fmt.Fprintf(w, "\nThe key may call the examples; %s. Try them:\n\n", kept)
	for _, fn := range fns {
		for _, r := range fn.Routes {
			fmt.Fprintf(w, "  %s\n", curlCommand(d.GatewayURL(), r, key.secret, wl.samples[fn.Name+" "+r.Method+" "+r.Path]))
		}
	}

	dataFlag := ""
	if cfg.DataDir != config.DefaultDataDir {
		dataFlag = " --data " + shellQuote(cfg.DataDir)
	}
	fmt.Fprintf(w, "\nList them with '%s ls%s'. Press Ctrl-C to stop.\n", wl.pave, dataFlag)
	if wl.pave != "pave" {
		fmt.Fprint(w, "(pave is not on your PATH: 'go install ./cmd/pave' puts it in $(go env GOPATH)/bin.)\n")
	}
}

// paveCommand returns how the user can run this pave again: "pave" when
// that is this program on the PATH, else the path of this program, or
// "go run ./cmd/pave" when it is a temporary build of go run.
func paveCommand(getenv func(string) string) string {
	self, err := os.Executable()
	if err != nil {
		return "go run ./cmd/pave"
	}
	self, _ = filepath.EvalSymlinks(self)
	return paveCommandFor(self, getenv("PATH"), os.TempDir())
}

// paveCommandFor is paveCommand for the program at self, the PATH path and
// the temporary directory tmp.
func paveCommandFor(self, path, tmp string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		found := filepath.Join(dir, "pave")
		if resolved, err := filepath.EvalSymlinks(found); err == nil {
			found = resolved
		}
		if found == self {
			return "pave"
		}
	}
	// go run builds into a directory named go-build... under the
	// temporary directory, deleted when it exits.
	if rel, err := filepath.Rel(tmp, self); err == nil && strings.HasPrefix(rel, "go-build") {
		return "go run ./cmd/pave"
	}
	return shellQuote(self)
}

// sampleParams creates one item through each POST route of fns that has a
// sibling route with a parameter at its end (POST /notes for GET
// /notes/{id}), and returns the value its answer gives that parameter, by
// "FUNCTION METHOD PATH" of the parametrised route, so that the curl line
// of that route works. An example that does not answer so keeps the
// parameter's name in its curl line.
func sampleParams(ctx context.Context, c *client.Client, fns []*client.Function, stderr io.Writer) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, fn := range fns {
		created := map[string]map[string]json.RawMessage{} // by collection path
		for _, r := range fn.Routes {
			segs, err := manifest.ParsePath(r.Path)
			if err != nil || len(segs) < 2 || segs[len(segs)-1].Param == "" || segs[len(segs)-1].CatchAll {
				continue
			}
			param := segs[len(segs)-1].Param
			collection := r.Path[:strings.LastIndex(r.Path, "/")]
			if !slices.ContainsFunc(fn.Routes, func(p client.Route) bool { return p.Method == "POST" && p.Path == collection }) {
				continue
			}
			item, done := created[collection]
			if !done {
				item = createSample(ctx, c, fn.Name, collection)
				created[collection] = item
				if item != nil {
					fmt.Fprintf(stderr, "created a sample item with %s POST %s for the %s line\n", fn.Name, collection, r.Method+" "+r.Path)
				}
			}
			var v string
			if json.Unmarshal(item[param], &v) == nil && v != "" {
				out[fn.Name+" "+r.Method+" "+r.Path] = map[string]string{param: v}
			}
		}
	}
	return out
}

// createSample posts sampleBody to path of function and returns the JSON
// object it answers, or nil.
func createSample(ctx context.Context, c *client.Client, function, path string) map[string]json.RawMessage {
	resp, err := c.Invoke(ctx, function, client.InvokeRequest{Method: "POST", Path: path,
		Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(sampleBody)})
	if err != nil || resp.Status/100 != 2 {
		return nil
	}
	var item map[string]json.RawMessage
	if json.Unmarshal(resp.Body, &item) != nil {
		return nil
	}
	return item
}

// sampleBody is the request body of the curl commands up prints.
const sampleBody = `{"hello":"world"}`

// curlCommand returns a curl command line that calls a route through the
// gateway with an API key, filling its path parameters with the values
// given, or else with their names.
func curlCommand(gatewayURL string, r client.Route, key string, values map[string]string) string {
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
	return strings.Join(append(args, shellQuote(gatewayURL+samplePath(r.Path, values))), " ")
}

// samplePath fills the parameters of a route path with the values given,
// escaped, or else with their names: "/users/{id}" becomes "/users/id".
func samplePath(path string, values map[string]string) string {
	segs, err := manifest.ParsePath(path)
	if err != nil || len(segs) == 0 {
		return path
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if v, ok := values[s.Param]; ok && s.Param != "" {
			b.WriteString(url.PathEscape(v))
		} else if s.Param != "" {
			b.WriteString(s.Param)
		} else {
			b.WriteString(s.Literal)
		}
	}
	return b.String()
}
