package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/manifest"
)

const appHelp = `
FILE is an app file, pave.app.yaml in the current directory by default. It
declares the functions (their directories), the API keys by name, the
budget overrides, the secrets each environment must have and the JWT
issuers the daemon must trust; see docs/APPS.md. Every function is built
as 'pave deploy' builds it and compared by its module's digest and its
manifest.`

var planCommand = &command{
	name:    "plan",
	args:    "[FILE]",
	summary: "show what apply would change on the daemon to match an app file",
	help: `
Prints what 'pave apply' would do: the functions, keys and budgets it
would create, update or (with --prune) delete, each with what differs,
and as a risk what widens access: a grant that widens, a route that
becomes public, a key that may do more or for longer, a budget raised.
Secrets the environment lacks and JWT issuers that differ are listed too;
apply cannot change those.` + appHelp,
	run: func(ctx context.Context, inv *invocation, args []string) error {
		return runApp(ctx, inv, args, appPlan)
	},
}

var applyCommand = &command{
	name:    "apply",
	args:    "[FILE]",
	summary: "change the daemon to match an app file",
	help: `
Makes the daemon run what the app file declares: deploys the functions
that are new or changed, creates and changes keys (a changed key keeps
its secret; a new key's secret is printed once), sets budgets, and with
--prune deletes the functions, revokes the keys and removes the budget
overrides the file does not declare.

Everything is checked before anything changes: the file, every manifest,
every build, and the secrets the environment must have; apply refuses if
any fails. The changes are then made one at a time. The daemon cannot
make them all at once, so when one is refused apply stops and reports
what was applied and what was not; running it again finishes the work.
The whole apply is one audit event, app.apply, with the file's sha256
digest and, in a git repository, the commit and whether the tree had
changes.` + appHelp,
	run: func(ctx context.Context, inv *invocation, args []string) error {
		return runApp(ctx, inv, args, appApply)
	},
}

var driftCommand = &command{
	name:    "drift",
	args:    "[FILE]",
	summary: "exit non-zero when what the daemon runs differs from an app file",
	help: `
Compares the daemon with the app file and exits 1, naming each
difference, when they differ: a function deployed by hand or changed, a
key nobody declared or whose grants changed, a budget override changed, a
secret the environment lacks, a JWT issuer that differs. Exits 0 when
they match. Meant for a scheduled CI job; see docs/APPS.md.` + appHelp,
	run: func(ctx context.Context, inv *invocation, args []string) error {
		return runApp(ctx, inv, args, appDrift)
	},
}

type appMode int

const (
	appPlan appMode = iota
	appApply
	appDrift
)

// appReport is what plan, apply and drift print with --format json.
type appReport struct {
	App    string `json:"app"`
	File   string `json:"file"`
	Digest string `json:"digest"`
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
	Env    string `json:"env,omitempty"`
	// Changes are the changes planned; for drift, the differences.
	Changes []*change `json:"changes"`
	// Unpruned counts the deletions left out for want of --prune.
	Unpruned int `json:"unpruned,omitempty"`
	// Applied, Failed and NotApplied report an apply.
	Applied    []appliedChange `json:"applied,omitempty"`
	Failed     *failedChange   `json:"failed,omitempty"`
	NotApplied []*change       `json:"not_applied,omitempty"`
	// Audit is what the daemon recorded of the apply.
	Audit *client.ApplyRecord `json:"audit,omitempty"`
}

type appliedChange struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Result string `json:"result,omitempty"`
}

type failedChange struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Error  string `json:"error"`
}

// errDrift is drift's exit status 1 once the differences are printed.
var errDrift = errors.New("what the daemon runs differs from the app file")

func runApp(ctx context.Context, inv *invocation, args []string, mode appMode) error {
	dataDir := inv.dataDirFlag("data")
	format := inv.fs.String("format", "text", "output `FORMAT`: text or json")
	envName := inv.fs.String("env", "", "the `ENV`ironment whose secrets to check, one the file declares")
	var prune, yes *bool
	if mode != appDrift {
		prune = inv.fs.Bool("prune", false, "also delete what the file does not declare")
	}
	if mode == appApply {
		yes = inv.fs.Bool("yes", false, "apply without asking")
	}
	pos, err := inv.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return inv.usageErrorf("--format %q: want text or json", *format)
	}
	file := manifest.AppFileName
	if len(pos) == 1 {
		file = pos[0]
		if info, err := os.Stat(file); err == nil && info.IsDir() {
			file = filepath.Join(file, manifest.AppFileName)
		}
	}
	data, err := manifest.ReadAppFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no app file %s; write one (see docs/APPS.md)", file)
	}
	if err != nil {
		return err
	}
	app, err := manifest.ParseApp(file, data)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	rep := &appReport{App: app.Name, File: file, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	st := &appState{app: app, dir: filepath.Dir(file)}
	switch {
	case *envName != "":
		env, ok := app.Environment(*envName)
		if !ok {
			return inv.usageErrorf("--env %s: the file declares no such environment", *envName)
		}
		st.env, rep.Env = env, env.Name
	case len(app.Environments) > 0:
		var names []string
		for _, e := range app.Environments {
			names = append(names, e.Name)
		}
		return inv.usageErrorf("choose the environment whose secrets to check with --env: %s", strings.Join(names, ", "))
	}

	// Everything the file says is checked, and every function built,
	// before the daemon is asked anything.
	if st.srcs, err = loadAppSources(app, st.dir); err != nil {
		return err
	}
	if err := checkAppReferences(app, st.srcs); err != nil {
		return err
	}
	if st.digests, err = buildAll(ctx, st.srcs, inv); err != nil {
		return err
	}
	if st.c, err = inv.client(*dataDir); err != nil {
		return err
	}
	var all []*change
	for _, k := range resourceKinds {
		changes, err := k.diff(ctx, st)
		if err != nil {
			return fmt.Errorf("%s: comparing with the daemon: %w", k.name, err)
		}
		all = append(all, changes...)
	}
	all = orderChanges(all)

	if mode == appDrift {
		rep.Changes = all
		if err := printAppReport(inv, *format, rep, mode); err != nil {
			return err
		}
		if len(all) > 0 {
			return errDrift
		}
		return nil
	}
	for _, ch := range all {
		if ch.Action == actionDelete && !*prune {
			rep.Unpruned++
			continue
		}
		rep.Changes = append(rep.Changes, ch)
	}
	if mode == appPlan {
		return printAppReport(inv, *format, rep, mode)
	}
	return applyChanges(ctx, inv, st, rep, *format, *yes)
}

// checkAppReferences checks that the keys and budgets of an app file name
// functions it declares.
func checkAppReferences(app *manifest.App, srcs []*source) error {
	declared := func(name string) bool {
		return slices.ContainsFunc(srcs, func(s *source) bool { return s.m.Name == name })
	}
	var errs []string
	for _, k := range app.Keys {
		for i, fn := range k.Functions {
			if !declared(fn) {
				at := fmt.Sprintf("keys.%s.functions[%d]", k.Name, i)
				errs = append(errs, fmt.Sprintf("%s:%d: %s: function %s is not one the file declares", app.File, app.Line(at), at, fn))
			}
		}
	}
	for _, b := range app.Budgets {
		if fn, ok := strings.CutPrefix(b.Subject, "function:"); ok && !declared(fn) {
			errs = append(errs, fmt.Sprintf("%s:%d: budgets: function %s is not one the file declares", app.File, b.Line, fn))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// orderChanges orders changes as apply makes them: creations and updates
// in the order of resourceKinds (functions before the keys that name
// them), then deletions in the reverse order (keys revoked before their
// functions are removed).
func orderChanges(all []*change) []*change {
	rank := func(ch *change) int {
		k := slices.IndexFunc(resourceKinds, func(k resourceKind) bool { return k.name == ch.Kind })
		if ch.Action == actionDelete {
			return 2*len(resourceKinds) - k
		}
		return k
	}
	slices.SortStableFunc(all, func(a, b *change) int { return rank(a) - rank(b) })
	return all
}

// applyChanges makes the changes planned in rep, one at a time, under one
// apply of the daemon's, and reports what was done.
func applyChanges(ctx context.Context, inv *invocation, st *appState, rep *appReport, format string, yes bool) error {
	var missing, doable []*change
	for _, ch := range rep.Changes {
		switch {
		case ch.Action == actionMissing:
			missing = append(missing, ch)
		case ch.apply != nil:
			doable = append(doable, ch)
		}
	}
	if len(missing) > 0 {
		var names []string
		for _, ch := range missing {
			names = append(names, ch.Name)
		}
		printAppReport(inv, format, rep, appPlan)
		return fmt.Errorf("nothing applied: environment %s lacks secret%s %s; set %s with 'pave secret set NAME' and apply again",
			rep.Env, plural(len(names)), strings.Join(names, ", "), map[bool]string{true: "it", false: "them"}[len(names) == 1])
	}
	if len(doable) > 0 && !yes {
		// The plan asked about is part of the question, on stderr: stdout
		// holds the report of what was done.
		preview := &invocation{env: &env{stdout: inv.stderr}}
		if err := printAppReport(preview, "text", &appReport{App: rep.App, File: rep.File, Changes: rep.Changes, Unpruned: rep.Unpruned}, appPlan); err != nil {
			return err
		}
		fmt.Fprintf(inv.stderr, "Apply these %d change%s? Type yes to go on: ", len(doable), plural(len(doable)))
		line, _ := bufio.NewReader(inv.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			return errors.New("nothing applied: not confirmed (pass --yes to apply without asking)")
		}
	}
	rep.Commit, rep.Dirty = gitState(ctx, st.dir)
	ac, err := st.c.StartApply(ctx, client.ApplyStart{App: rep.App, Digest: rep.Digest, Commit: rep.Commit, Dirty: rep.Dirty, Env: rep.Env})
	if err != nil {
		return fmt.Errorf("nothing applied: starting the apply: %w", err)
	}
	var failure error
	for i, ch := range doable {
		result, err := ch.apply(ctx, ac)
		if err != nil {
			failure = err
			rep.Failed = &failedChange{Kind: ch.Kind, Name: ch.Name, Action: ch.Action, Error: err.Error()}
			rep.NotApplied = doable[i+1:]
			break
		}
		rep.Applied = append(rep.Applied, appliedChange{Kind: ch.Kind, Name: ch.Name, Action: ch.Action, Result: result})
	}
	rec, auditErr := ac.FinishApply(ctx, failure == nil)
	rep.Audit = rec
	if perr := printAppReport(inv, format, rep, appApply); perr != nil {
		return perr
	}
	if failure != nil {
		return fmt.Errorf("apply stopped at %s %s %s after %d of %d changes; the rest were not applied: %w",
			rep.Failed.Action, rep.Failed.Kind, rep.Failed.Name, len(rep.Applied), len(doable), failure)
	}
	if auditErr != nil {
		return fmt.Errorf("the changes were applied, but recording the apply in the audit log failed: %w", auditErr)
	}
	return nil
}

// gitState returns the commit checked out in the repository that holds
// dir, and whether its working tree has changes; "" outside a repository
// or without git.
func gitState(ctx context.Context, dir string) (commit string, dirty bool) {
	if repoRoot(dir) == "" {
		return "", false
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain").Output()
	return commit, err != nil || len(strings.TrimSpace(string(status))) > 0
}

// printAppReport prints rep as text or JSON.
func printAppReport(inv *invocation, format string, rep *appReport, mode appMode) error {
	if format == "json" {
		if rep.Changes == nil {
			rep.Changes = []*change{}
		}
		return printJSON(inv.stdout, rep)
	}
	w := inv.stdout
	switch mode {
	case appApply:
		return printApplied(w, rep)
	case appDrift:
		if len(rep.Changes) == 0 {
			_, err := fmt.Fprintf(w, "no drift: the daemon runs what %s declares\n", rep.File)
			return err
		}
		fmt.Fprintf(w, "drift: the daemon differs from %s in %d way%s:\n", rep.File, len(rep.Changes), plural(len(rep.Changes)))
		printDrift(w, rep.Changes)
		return nil
	default:
		if len(rep.Changes) == 0 {
			fmt.Fprintf(w, "no changes: the daemon runs what %s declares\n", rep.File)
		} else {
			fmt.Fprintf(w, "%d change%s to match %s:\n", len(rep.Changes), plural(len(rep.Changes)), rep.File)
		}
	}
	printChanges(w, rep.Changes)
	if rep.Unpruned > 0 {
		fmt.Fprintf(w, "%d resource%s the file does not declare would stay; --prune deletes them (pave drift lists them)\n", rep.Unpruned, plural(rep.Unpruned))
	}
	return nil
}

// changeMarks are the signs of the actions in text output.
var changeMarks = map[string]string{
	actionCreate: "+", actionUpdate: "~", actionDelete: "-", actionMissing: "!", actionDiffers: "!",
}

func printChanges(w io.Writer, changes []*change) {
	for _, ch := range changes {
		fmt.Fprintf(w, "  %s %s %s %s", changeMarks[ch.Action], ch.Action, ch.Kind, ch.Name)
		if len(ch.Details) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(ch.Details, "; "))
		}
		fmt.Fprintln(w)
		for _, r := range ch.Risks {
			fmt.Fprintf(w, "      RISK: %s\n", r)
		}
		if ch.Note != "" {
			fmt.Fprintf(w, "      %s\n", ch.Note)
		}
	}
}

// printDrift prints changes as differences: what the daemon lacks or runs
// otherwise than the file says.
func printDrift(w io.Writer, changes []*change) {
	for _, ch := range changes {
		what := strings.Join(ch.Details, "; ")
		switch ch.Action {
		case actionCreate:
			what = "declared, but not on the daemon"
		case actionMissing:
			what = "missing: " + ch.Note
		}
		fmt.Fprintf(w, "  %s %s %s: %s\n", changeMarks[ch.Action], ch.Kind, ch.Name, what)
		for _, r := range ch.Risks {
			fmt.Fprintf(w, "      RISK: %s\n", r)
		}
		if ch.Note != "" && ch.Action != actionMissing {
			fmt.Fprintf(w, "      %s\n", ch.Note)
		}
	}
}

func printApplied(w io.Writer, rep *appReport) error {
	if len(rep.Applied) == 0 && rep.Failed == nil {
		fmt.Fprintf(w, "no changes: the daemon runs what %s declares\n", rep.File)
	}
	for _, a := range rep.Applied {
		fmt.Fprintf(w, "applied: %s %s %s", a.Action, a.Kind, a.Name)
		if a.Result != "" {
			fmt.Fprintf(w, ": %s", a.Result)
		}
		fmt.Fprintln(w)
	}
	if f := rep.Failed; f != nil {
		fmt.Fprintf(w, "FAILED: %s %s %s: %s\n", f.Action, f.Kind, f.Name, f.Error)
	}
	for _, ch := range rep.NotApplied {
		fmt.Fprintf(w, "not applied: %s %s %s\n", ch.Action, ch.Kind, ch.Name)
	}
	var rest []*change
	for _, ch := range rep.Changes {
		if ch.apply == nil {
			rest = append(rest, ch)
		}
	}
	if len(rest) > 0 {
		fmt.Fprintln(w, "not for apply to change:")
		printChanges(w, rest)
	}
	if rep.Unpruned > 0 {
		fmt.Fprintf(w, "%d resource%s the file does not declare stayed; --prune deletes them\n", rep.Unpruned, plural(rep.Unpruned))
	}
	if rep.Audit != nil {
		fmt.Fprintf(w, "recorded as audit event app.apply %s (%s", rep.Audit.ID, rep.Digest)
		if rep.Commit != "" {
			fmt.Fprintf(w, ", commit %s", rep.Commit[:min(12, len(rep.Commit))])
			if rep.Dirty {
				fmt.Fprint(w, " with uncommitted changes")
			}
		}
		fmt.Fprintln(w, ")")
	}
	return nil
}
