package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/certs"
	"github.com/pave-dev/pave/internal/config"
)

// dataDirFlag defines the flag, --data for all client commands but invoke,
// that names the data directory of the daemon to talk to.
func (inv *invocation) dataDirFlag(name string) *string {
	def := inv.getenv(config.EnvDataDir)
	if def == "" {
		def = config.DefaultDataDir
	}
	return inv.fs.String(name, def, fmt.Sprintf(
		"data `DIR` of the daemon to talk to (%s); %s and %s override what it holds",
		config.EnvDataDir, config.EnvAdminURL, config.EnvToken))
}

// client returns a client of the daemon found through dataDir and the
// environment.
func (inv *invocation) client(dataDir string) (*client.Client, error) {
	cfg, err := config.ResolveClient(dataDir, inv.getenv)
	if err != nil {
		return nil, err
	}
	return newClient(cfg.AdminURL, cfg.Token.Reveal(), cfg.CAFile)
}

// newClient returns a client of the admin API at url that trusts the
// certificates in caFile beside the system's, when caFile is set.
func newClient(url, token, caFile string) (*client.Client, error) {
	if caFile == "" {
		return client.New(url, token), nil
	}
	tc, err := certs.ClientConfig(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvCAFile, err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	return client.New(url, token, client.WithHTTPClient(hc)), nil
}

// list is what an ls command shows: the items the admin API lists, sorted
// by key unless key is nil.
type list[T any] struct {
	fetch func(*client.Client, context.Context) ([]T, error)
	key   func(T) string
	// wire makes the admin API's JSON document of the items for --format
	// json.
	wire func([]T) any
	// none is said on stderr, in place of a table, when there are no
	// items.
	none  string
	table func(*invocation, []T) error
}

// runList runs an ls command: no arguments, and --format json for the
// admin API's JSON instead of a table.
func runList[T any](ctx context.Context, inv *invocation, args []string, l list[T]) error {
	dataDir := inv.dataDirFlag("data")
	format := inv.formatFlag(formatTable, formatJSON)
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	f, err := format()
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	items, err := l.fetch(c, ctx)
	if err != nil {
		return err
	}
	if l.key != nil {
		slices.SortFunc(items, func(a, b T) int { return cmp.Compare(l.key(a), l.key(b)) })
	}
	if f == formatJSON {
		if items == nil {
			items = []T{}
		}
		return printJSON(inv.stdout, l.wire(items))
	}
	if len(items) == 0 {
		fmt.Fprintln(inv.stderr, l.none)
		return nil
	}
	return l.table(inv, items)
}

// runShow runs a command that shows one thing, named by its one argument,
// as get fetches it: print writes it as text, or --format json as the
// admin API's JSON.
func runShow[T any](ctx context.Context, inv *invocation, args []string,
	get func(*client.Client, context.Context, string) (T, error), print func(io.Writer, T) error) error {
	dataDir := inv.dataDirFlag("data")
	format := inv.formatFlag(formatText, formatJSON)
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	f, err := format()
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	v, err := get(c, ctx, pos[0])
	if err != nil {
		return err
	}
	if f == formatJSON {
		return printJSON(inv.stdout, v)
	}
	return print(inv.stdout, v)
}

// runOnName runs a command that does one thing to what its one argument
// names, and says done (a format of the name) when it is done.
func runOnName(ctx context.Context, inv *invocation, args []string,
	do func(*client.Client, context.Context, string) error, done string) error {
	dataDir := inv.dataDirFlag("data")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	if err := do(c, ctx, pos[0]); err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, done, pos[0])
	return err
}

var lsCommand = &command{
	name:    "ls",
	summary: "list functions",
	help: `
Lists the deployed functions: their owner, active version, routes, whether
any route is public, the capabilities granted, the triggers (topics and
schedules) that run them, when they were last invoked, and how many
invocations ran them over the last 7 and 30 days.`,
	run: runLs,
}

func runLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.Function]{
		fetch: (*client.Client).ListFunctions,
		key:   func(fn client.Function) string { return fn.Name },
		wire:  func(fns []client.Function) any { return client.FunctionList{Functions: fns} },
		none:  "no functions deployed; deploy one with 'pave deploy DIR'",
		table: printFunctions,
	})
}

// printFunctions prints functions as a table.
func printFunctions(inv *invocation, fns []client.Function) error {
	tw := newTable(inv.stdout)
	fmt.Fprintln(tw, "NAME\tOWNER\tVERSION\tROUTES\tPUBLIC\tCAPABILITIES\tTRIGGERS\tLAST-INVOKED\t7D\t30D")
	for _, fn := range fns {
		routes := make([]string, len(fn.Routes))
		for i, r := range fn.Routes {
			routes[i] = formatRoute(r)
		}
		if len(routes) == 0 {
			routes = []string{"(internal)"}
		}
		name := fn.Name
		if fn.Quarantine != nil {
			name += " (quarantined)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", name, fn.Owner, fn.Version,
			strings.Join(routes, ", "), yesNo(fn.Public), grantedGroups(fn.Capabilities), triggerList(fn.Triggers),
			formatTime(fn.LastInvoked), fn.Invocations7d, fn.Invocations30d)
	}
	return tw.Flush()
}

// grantedGroups names the capability groups c grants, or "-".
func grantedGroups(c *client.Capabilities) string {
	if c == nil {
		return "-"
	}
	grants := map[string]int{
		abi.CapabilitySecrets: len(c.Secrets),
		abi.CapabilityKV:      len(c.KV),
		abi.CapabilityHTTP:    len(c.HTTP),
		abi.CapabilityInvoke:  len(c.Invoke),
		abi.CapabilityPublish: len(c.Publish),
	}
	var groups []string
	for _, g := range abi.CapabilityGroups {
		if grants[g.Name] > 0 {
			groups = append(groups, g.Name)
		}
	}
	if len(groups) == 0 {
		return "-"
	}
	return strings.Join(groups, ",")
}

// triggerList names a function's triggers, "topic:orders.created" and
// "schedule:*/5 * * * *", or "-".
func triggerList(ts []client.Trigger) string {
	if len(ts) == 0 {
		return "-"
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		if t.Topic != "" {
			out[i] = "topic:" + t.Topic
			continue
		}
		out[i] = "schedule:" + t.Schedule
		if t.Timezone != "" && t.Timezone != "UTC" {
			out[i] += " " + t.Timezone
		}
	}
	return strings.Join(out, ", ")
}

var getCommand = &command{
	name:    "get",
	args:    "NAME",
	summary: "show a function",
	help: `
Shows a function in detail: its active version, module digest and run mode,
limits, routes, and every version deployed.`,
	run: runGet,
}

func runGet(ctx context.Context, inv *invocation, args []string) error {
	return runShow(ctx, inv, args, (*client.Client).GetFunction, printFunction)
}

// printFunction prints a function in detail.
func printFunction(w io.Writer, fn *client.Function) error {
	tw := newTable(w)
	field := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	field("name", fn.Name)
	if fn.Description != "" {
		field("description", fn.Description)
	}
	field("owner", fn.Owner)
	field("version", strconv.Itoa(fn.Version))
	field("digest", fn.Digest)
	field("mode", fn.Mode)
	isolation := fn.Isolation
	if fn.IsolationNote != "" {
		isolation += " (" + fn.IsolationNote + ")"
	}
	field("isolation", isolation)
	field("public", yesNo(fn.Public))
	field("created", formatTime(&fn.CreatedAt))
	field("updated", formatTime(&fn.UpdatedAt))
	field("last invoked", formatTime(fn.LastInvoked))
	field("invocations", fmt.Sprintf("%d in 7 days, %d in 30 days", fn.Invocations7d, fn.Invocations30d))
	field("capabilities", grantedGroups(fn.Capabilities))
	field("triggers", triggerList(fn.Triggers))
	if q := fn.Quarantine; q != nil {
		field("quarantined", fmt.Sprintf("since %s by %s: %s", formatTime(&q.At), q.By, q.Reason))
	}
	field("limits", fmt.Sprintf("timeout %s, memory %s, concurrency %d, request body %s",
		time.Duration(fn.Limits.TimeoutMS)*time.Millisecond, formatSize(fn.Limits.MemoryBytes),
		fn.Limits.Concurrency, formatSize(fn.Limits.MaxBodyBytes)))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nroutes")
	if err := printRoutes(w, fn.Routes); err != nil {
		return err
	}

	if len(fn.Versions) > 0 {
		fmt.Fprintln(w, "\nversions (* active)")
		tw = newTable(w)
		fmt.Fprintln(tw, "  VERSION\tDIGEST\tSIZE\tMODE\tISOLATION\tDEPLOYED")
		for _, v := range fn.Versions {
			mark := " "
			if v.Number == fn.Version {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%s\t%s\n", mark, v.Number, shortDigest(v.Digest),
				formatSize(v.Size), v.Mode, v.Isolation, formatTime(&v.DeployedAt))
		}
		return tw.Flush()
	}
	return nil
}

var rmCommand = &command{
	name:    "rm",
	args:    "NAME",
	summary: "remove a function",
	help: `
Removes a function, its routes and its versions. There is no prompt, so the
function must be named exactly: one name, no patterns.`,
	run: runRm,
}

func runRm(ctx context.Context, inv *invocation, args []string) error {
	return runOnName(ctx, inv, args, (*client.Client).RemoveFunction, "removed %s\n")
}

var rollbackCommand = &command{
	name:    "rollback",
	args:    "NAME [VERSION]",
	summary: "make an earlier version of a function the active one",
	help: `
Makes VERSION of a function the active one, or without VERSION, the version
before the active one. Versions stay deployed, so a rollback can itself be
undone by rolling forward to the later version.`,
	run: runRollback,
}

func runRollback(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	pos, err := inv.parse(args, 1, 2)
	if err != nil {
		return err
	}
	version := 0
	if len(pos) == 2 {
		version, err = strconv.Atoi(pos[1])
		if err != nil || version < 1 {
			return inv.usageErrorf("VERSION %q: want a version number, 1 or more", pos[1])
		}
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	fn, err := c.Rollback(ctx, pos[0], version)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "%s is at version %d (%s)\n", fn.Name, fn.Version, shortDigest(fn.Digest))
	return err
}
