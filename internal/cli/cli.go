// Package cli implements the pave command: the daemon (serve, up) and the
// commands that drive a daemon through its admin API.
//
// Main is the whole program; cmd/pave only hands it the process's
// arguments, standard streams and environment. Commands read their
// configuration from those alone (the go command that a build runs
// inherits the process's environment, as it must), so every command can
// be run from a test against a fake admin API.
//
// Conventions every command follows:
//
//   - flags and arguments may come in any order, and "--" ends the flags;
//   - -h or --help prints the command's help on stdout and exits 0;
//   - an error is one line "pave: <message>" on stderr and exit status 1,
//     or 2 when the command line itself is wrong;
//   - results go to stdout, notes and progress to stderr, and a secret
//     (an API key) is printed only by the command that creates it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// A command is one subcommand of pave, or a group of them ("keys").
type command struct {
	// name is the command as typed after "pave": "deploy", "keys create".
	name string
	// args is the synopsis of the positional arguments: "NAME [VERSION]".
	args string
	// summary is the one line shown in command lists.
	summary string
	// help is the description shown by --help.
	help string
	// run defines the command's flags on inv.fs, parses args with
	// inv.parse and does the work.
	run func(ctx context.Context, inv *invocation, args []string) error
	// subcommands of a group; a group has no run of its own.
	subcommands []*command
}

// commands lists pave's commands in the order the help shows them.
var commands = []*command{
	upCommand,
	serveCommand,
	newCommand,
	buildCommand,
	testCommand,
	deployCommand,
	planCommand,
	applyCommand,
	driftCommand,
	devCommand,
	lsCommand,
	getCommand,
	invokeCommand,
	logsCommand,
	callsCommand,
	callCommand,
	dlqCommand,
	rollbackCommand,
	quarantineCommand,
	restoreCommand,
	rmCommand,
	keysCommand,
	consoleCommand,
	budgetCommand,
	secretCommand,
	adminCommand,
	nodesCommand,
	postureCommand,
	policyCommand,
	graphCommand,
	auditCommand,
	benchCommand,
	completionCommand,
	versionCommand,
}

// hiddenCommands are run like commands but neither listed nor completed:
// pave runs them itself, in child processes.
var hiddenCommands = []*command{benchNATSCommand}

// Main runs pave with the given arguments (without the program name) and
// returns the process's exit status. getenv is os.Getenv in production.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	return e.exit(e.dispatch(context.Background(), args))
}

// dispatch finds the command args name and runs it.
func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printCommands(e.stderr, "pave", commands)
		return errUsageShown
	}
	if isHelp(args[0]) || args[0] == "help" {
		return e.help(ctx, args[1:])
	}
	if isVersion(args[0]) {
		args = append([]string{versionCommand.name}, args[1:]...)
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	if cmd.subcommands != nil {
		if len(rest) > 0 && isHelp(rest[0]) {
			printCommands(e.stdout, "pave "+cmd.name, cmd.subcommands)
			return nil
		}
		printCommands(e.stderr, "pave "+cmd.name, cmd.subcommands)
		return errUsageShown
	}

	fs := flag.NewFlagSet("pave "+cmd.name, flag.ContinueOnError)
	// Parse errors become one line through exit, and help goes to stdout
	// through printHelp, so the flag package itself prints nothing.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	inv := &invocation{env: e, cmd: cmd, fs: fs}
	err = cmd.run(ctx, inv, rest)
	if errors.Is(err, flag.ErrHelp) {
		cmd.printHelp(e.stdout, fs)
		return nil
	}
	return err
}

// lookup finds the command named by the first words of args, descending
// into groups, and returns it with the arguments that follow its name. A
// group is returned when nothing, or a help flag, follows its name.
func lookup(args []string) (*command, []string, error) {
	var group *command
	cmds, prefix := commands, ""
	for i, word := range args {
		k := slices.IndexFunc(cmds, func(c *command) bool { return c.name == prefix+word })
		if k < 0 && group == nil {
			if h := slices.IndexFunc(hiddenCommands, func(c *command) bool { return c.name == word }); h >= 0 {
				return hiddenCommands[h], args[i+1:], nil
			}
		}
		switch {
		case k >= 0 && cmds[k].subcommands != nil:
			group = cmds[k]
			cmds, prefix = group.subcommands, group.name+" "
		case k >= 0:
			return cmds[k], args[i+1:], nil
		case group == nil:
			return nil, nil, &usageError{msg: fmt.Sprintf("unknown command %q (see 'pave help')", word)}
		case isHelp(word):
			return group, args[i:], nil
		default:
			return nil, nil, &usageError{msg: fmt.Sprintf("unknown command %q (see 'pave %s --help')", prefix+word, group.name)}
		}
	}
	return group, nil, nil
}

// help runs "pave help [COMMAND]".
func (e *env) help(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || isHelp(args[0]) {
		printCommands(e.stdout, "pave", commands)
		return nil
	}
	// A command defines its flags when it runs, so its help is its --help.
	return e.dispatch(ctx, append(slices.Clip(args), "--help"))
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// isVersion reports whether arg is the flag that stands for 'pave version'.
func isVersion(arg string) bool { return arg == "-version" || arg == "--version" }

// printCommands prints the usage of pave or of a group of commands.
func printCommands(w io.Writer, name string, cmds []*command) {
	if name == "pave" {
		fmt.Fprint(w, "pave runs functions as sandboxed WebAssembly modules behind an\nauthenticated gateway.\n\n")
	}
	fmt.Fprintf(w, "Usage: %s <command> [arguments]\n\nCommands:\n", name)
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the details of a command.\n", name)
	if name == "pave" {
		fmt.Fprint(w, "'pave --version' prints pave's version.\n")
	}
	if name == "pave" {
		fmt.Fprint(w, "Commands that drive a daemon find it through PAVE_ADMIN_URL and PAVE_TOKEN,\nor through the files a daemon writes in its data directory (--data DIR).\n")
	}
}

// printHelp prints a command's usage line, description and flags.
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.usage(fs), strings.TrimSpace(c.help))
	if hasFlags(fs) {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// usage returns the command's usage line: "pave rm [flags] NAME".
func (c *command) usage(fs *flag.FlagSet) string {
	parts := []string{"pave", c.name}
	if hasFlags(fs) {
		parts = append(parts, "[flags]")
	}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	return strings.Join(parts, " ")
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// invocation is one run of a command.
type invocation struct {
	*env
	cmd *command
	// fs holds the command's flags; run defines them before parse.
	fs *flag.FlagSet
}

// parse parses the command's flags and returns its positional arguments,
// checking that there are between least and most of them (most < 0: any
// number). Flags may follow arguments, as in "pave keys create ci
// --functions hello".
func (inv *invocation) parse(args []string, least, most int) ([]string, error) {
	var pos []string
	for {
		if err := inv.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, inv.usageErrorf("%v", err)
		}
		rest := inv.fs.Args()
		if len(rest) == 0 {
			break
		}
		// The flag package stops at the first argument, or after "--",
		// which makes everything after it an argument. (A flag value of
		// "--" looks the same, and is taken as the terminator too.)
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) >= least && (most < 0 || len(pos) <= most):
		return pos, nil
	case inv.cmd.args == "":
		return nil, inv.usageErrorf("takes no arguments, got %q", pos[0])
	default:
		return nil, inv.usageErrorf("want %s, got %d argument%s", inv.cmd.args, len(pos), plural(len(pos)))
	}
}

// usageErrorf returns an error about the command line of the command.
func (inv *invocation) usageErrorf(format string, args ...any) error {
	return &usageError{cmd: inv.cmd, msg: fmt.Sprintf(format, args...)}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct {
	cmd *command // nil for a mistake in the command's name
	msg string
}

func (e *usageError) Error() string {
	if e.cmd == nil {
		return e.msg
	}
	return fmt.Sprintf("%s: %s (see 'pave %s --help')", e.cmd.name, e.msg, e.cmd.name)
}

// errUsageShown reports a usage message already printed: exit status 2.
var errUsageShown = errors.New("usage shown")

// exit reports err, if any, and returns the exit status for it.
func (e *env) exit(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsageShown):
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "pave: %s\n", ue)
		return exitUsage
	}
	// An error may list several problems one to a line, as a manifest
	// with mistakes does; each gets the prefix so that every line reads
	// as an error.
	for line := range strings.Lines(explain(err).Error()) {
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			fmt.Fprintf(e.stderr, "pave: %s\n", line)
		}
	}
	return exitError
}

// explain rewrites errors whose usual wording hides their likely cause.
func explain(err error) error {
	var urlErr *url.Error
	var opErr *net.OpError
	if errors.As(err, &urlErr) && errors.As(err, &opErr) && opErr.Op == "dial" {
		base := urlErr.URL
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			base = u.Scheme + "://" + u.Host
		}
		return fmt.Errorf("cannot reach the pave daemon at %s (%v); is it running?", base, opErr.Err)
	}
	return err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
