package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

var policyCommand = &command{
	name:    "policy",
	summary: "manage the organisation's policies, which every deploy must meet (set, ls, check)",
	subcommands: []*command{
		policySetCommand,
		policyLsCommand,
		policyCheckCommand,
	},
}

var policySetCommand = &command{
	name:    "policy set",
	args:    "FILE",
	summary: "replace the daemon's policies with the rules of a policy file",
	help: `
Replaces the organisation's policies with the rules in FILE, a YAML (or
JSON) document:

  policies:
    - name: timeout-30s
      expression: manifest.limits.timeout <= duration("30s")
      message: timeout at most 30s

Each rule is a CEL expression over a function's manifest, true when the
function complies; with each: route, host or trigger, it is checked for
every route, host of the http grants, or trigger in turn. The rules are
checked here first, with the lines of FILE, then compiled again by the
daemon: nothing changes unless every rule compiles. A file with an empty
list clears the policies.

From then on every deploy is refused (policy_refused) if it violates a
rule, listing every violation. Functions deployed before keep running;
pave posture reports their violations (PAVE-POLICY). Every change is
recorded in the daemon's audit log. The data rules see is described in
docs/POLICY.md.`,
	run: runPolicySet,
}

func runPolicySet(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	set, err := loadPolicyFile(pos[0])
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	rules := make([]client.Policy, 0, set.Len())
	for _, r := range set.Rules() {
		rules = append(rules, client.Policy{Name: r.Name, Expression: r.Expression, Message: r.Message, Each: r.Each})
	}
	stored, err := c.SetPolicies(ctx, rules)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		fmt.Fprintln(inv.stdout, "cleared the policies")
		return nil
	}
	names := make([]string, len(stored))
	for i, r := range stored {
		names[i] = r.Name
	}
	fmt.Fprintf(inv.stdout, "set %d polic%s: %s\n", len(stored), pluralY(len(stored)), strings.Join(names, ", "))
	return nil
}

// loadPolicyFile reads and compiles the policy file at path.
func loadPolicyFile(path string) (*policy.Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return policy.Parse(path, data)
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

var policyLsCommand = &command{
	name:    "policy ls",
	summary: "list the daemon's policies",
	help: `
Lists the organisation's policies, in the order they are checked: each
rule's name, what it applies to (the function, or each route, host or
trigger), its message and its expression.`,
	run: runPolicyLs,
}

func runPolicyLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.Policy]{
		fetch: (*client.Client).Policies,
		wire:  func(rules []client.Policy) any { return client.PolicySet{Policies: rules} },
		none:  "no policies; set them with 'pave policy set FILE'",
		table: func(inv *invocation, rules []client.Policy) error {
			tw := newTable(inv.stdout)
			fmt.Fprintln(tw, "NAME\tEACH\tMESSAGE\tEXPRESSION")
			for _, r := range rules {
				each := r.Each
				if each == "" {
					each = "function"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, each, r.Message, strings.Join(strings.Fields(r.Expression), " "))
			}
			return tw.Flush()
		},
	})
}

var policyCheckCommand = &command{
	name:    "policy check",
	args:    "[DIR...]",
	summary: "check the functions under directories against policies, before deploying",
	help: `
Checks every pave.yaml under each DIR (default: the current directory)
against the rules of --policy FILE, without a daemon: in CI, say, before
anything is deployed. Without --policy, the rules are those of the daemon
(pave policy ls), so a function can be checked before it is deployed.

Prints one line per violation, with the manifest, the line of the route,
host or trigger concerned, the rule's name and its message, and exits with
status 1 if there is any. pave posture --offline --policy FILE reports the
same violations as findings (PAVE-POLICY), in a table, JSON or SARIF.`,
	run: runPolicyCheck,
}

// errViolations reports that functions violate policies.
type errViolations int

func (e errViolations) Error() string {
	return fmt.Sprintf("%d policy violation%s", int(e), plural(int(e)))
}

func runPolicyCheck(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	file := inv.fs.String("policy", "", "check against the rules of the policy `FILE` instead of the daemon's")
	dirs, err := inv.parse(args, 0, -1)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var set *policy.Set
	if *file != "" {
		if set, err = loadPolicyFile(*file); err != nil {
			return err
		}
	} else {
		c, err := inv.client(*dataDir)
		if err != nil {
			return err
		}
		rules, err := c.Policies(ctx)
		if err != nil {
			return err
		}
		list := make([]policy.Rule, len(rules))
		for i, r := range rules {
			list[i] = policy.Rule{Name: r.Name, Expression: r.Expression, Message: r.Message, Each: r.Each}
		}
		if set, err = policy.Compile(list); err != nil {
			return fmt.Errorf("the daemon's policies: %w", err)
		}
	}
	var problems []error
	violations, functions := 0, 0
	for _, dir := range dirs {
		paths, err := manifestPaths(dir)
		if err != nil {
			return err
		}
		for _, path := range paths {
			m, err := manifest.ParseFile(path)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			functions++
			for _, v := range set.Check(m) {
				violations++
				at := path
				if v.Line > 0 {
					at = fmt.Sprintf("%s:%d", path, v.Line)
				}
				fmt.Fprintf(inv.stdout, "%s: %s\n", at, v)
			}
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if functions == 0 {
		return fmt.Errorf("no %s under %s", manifestName, strings.Join(dirs, ", "))
	}
	if violations > 0 {
		return errViolations(violations)
	}
	fmt.Fprintf(inv.stderr, "%d function%s, %d polic%s: no violation\n", functions, plural(functions), set.Len(), pluralY(set.Len()))
	return nil
}

// manifestPaths returns the pave.yaml files under dir, skipping hidden
// directories, node_modules and testdata, in lexical order.
func manifestPaths(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == manifestName {
			paths = append(paths, path)
		}
		return nil
	})
	return paths, err
}
