package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/limits"
)

var budgetCommand = &command{
	name:    "budget",
	summary: "manage the denial-of-wallet budgets of functions and owners (ls, set, rm)",
	subcommands: []*command{
		budgetLsCommand,
		budgetSetCommand,
		budgetRmCommand,
	},
}

var budgetLsCommand = &command{
	name:    "budget ls",
	summary: "list budgets and what has been spent against them",
	help: `
Lists the budget in force for every function, and the budgets of owners:
where each comes from (an operator's override, the function's manifest or
the daemon's default), its window, and the spending of the current window
against each cap: invocations, compute in GB-seconds and request bytes. A
cap of "-" is no cap. RESETS is when the current window ends (UTC).`,
	run: runBudgetLs,
}

func runBudgetLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.BudgetStatus]{
		fetch: (*client.Client).ListBudgets,
		key:   func(st client.BudgetStatus) string { return st.Subject },
		wire:  func(budgets []client.BudgetStatus) any { return client.BudgetList{Budgets: budgets} },
		none:  "no budgets; deploy a function, or set one with 'pave budget set NAME --invocations N'",
		table: printBudgets,
	})
}

// printBudgets prints budgets as a table.
func printBudgets(inv *invocation, budgets []client.BudgetStatus) error {
	tw := newTable(inv.stdout)
	fmt.Fprintln(tw, "SUBJECT\tSOURCE\tWINDOW\tINVOCATIONS\tCOMPUTE\tREQUEST BYTES\tRESETS")
	for _, st := range budgets {
		var spent client.Budget
		if st.Spent != nil {
			spent = *st.Spent
		}
		b := st.Budget
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Subject, st.Source, b.Window,
			spentOf(strconv.FormatInt(spent.Invocations, 10), b.Invocations != 0, strconv.FormatInt(b.Invocations, 10)),
			spentOf(formatGBs(spent.ComputeGBSeconds), b.ComputeGBSeconds != 0, formatGBs(b.ComputeGBSeconds)+" GB-s"),
			spentOf(formatSize(spent.RequestBytes), b.RequestBytes != 0, formatSize(b.RequestBytes)),
			budgetResets(b.Window, st.WindowStart))
	}
	return tw.Flush()
}

// spentOf formats spending against a cap: "12/1000", or "12/-" when there
// is no cap.
func spentOf(spent string, capped bool, limit string) string {
	if !capped {
		limit = "-"
	}
	return spent + "/" + limit
}

// formatGBs formats GB-seconds to two decimals at most: "0.25", "10".
func formatGBs(v float64) string {
	if v > 0 && v < 0.005 {
		return "<0.01"
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// budgetResets returns when the window that started at start ends: the
// next UTC midnight, or the first of the next month. "-" when nothing has
// been spent yet, so that no window is open.
func budgetResets(window string, start *time.Time) string {
	if start == nil || start.IsZero() {
		return "-"
	}
	w, err := limits.ParseWindow(window)
	if err != nil {
		return "-"
	}
	_, end := w.Bounds(*start)
	return formatTime(&end)
}

var budgetSetCommand = &command{
	name:    "budget set",
	args:    "SUBJECT",
	summary: "set an operator's override of a budget",
	help: `
Sets the budget of SUBJECT: a function NAME (the same as function:NAME),
or owner:NAME for all the functions of an owner together. A budget caps,
per UTC calendar day or month, the invocations, the compute in GB-seconds
(the function's memory limit in GiB times the wall time of each call) and
the bytes of the requests. Give at least one cap; the override replaces the
whole budget, so a cap left out is no cap.

An operator's override wins over the budget in the function's manifest and
over the daemon's default. It takes effect at once: raising the budget of a
function stopped at 100% of it re-opens the function straight away. Every
change is recorded in the daemon's audit log. 'pave budget rm' removes the
override.`,
	run: runBudgetSet,
}

func runBudgetSet(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	window := inv.fs.String("window", "day", "the budget's `WINDOW`: day or month (UTC)")
	invocations := inv.fs.Int64("invocations", 0, "cap of `N` invocations per window")
	compute := inv.fs.Float64("compute", 0, "cap of `GBSECONDS` of compute per window (memory in GiB times wall time)")
	requestBytes := inv.fs.String("request-bytes", "", "cap of `SIZE` request bytes per window, such as 1GiB or 512MiB")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	subject, err := budgetSubject(pos[0])
	if err != nil {
		return inv.usageErrorf("%v", err)
	}
	if _, err := limits.ParseWindow(*window); err != nil {
		return inv.usageErrorf("--window %q: %v", *window, err)
	}
	if *invocations < 0 {
		return inv.usageErrorf("--invocations %d: want a positive number", *invocations)
	}
	if math.IsNaN(*compute) || math.IsInf(*compute, 0) || *compute < 0 {
		return inv.usageErrorf("--compute %v: want a positive number of GB-seconds", *compute)
	}
	b := client.Budget{Window: *window, Invocations: *invocations, ComputeGBSeconds: *compute}
	if *requestBytes != "" {
		if b.RequestBytes, err = limits.ParseSize(*requestBytes); err != nil {
			return inv.usageErrorf("--request-bytes: %v", err)
		}
	}
	if b.Invocations == 0 && b.ComputeGBSeconds == 0 && b.RequestBytes == 0 {
		return inv.usageErrorf("set at least one cap: --invocations, --compute or --request-bytes")
	}

	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	st, err := c.SetBudget(ctx, subject, b)
	if err != nil {
		return err
	}
	return printBudgets(inv, []client.BudgetStatus{*st})
}

var budgetRmCommand = &command{
	name:    "budget rm",
	args:    "SUBJECT",
	summary: "remove an operator's override of a budget",
	help: `
Removes the override of the budget of SUBJECT, a function NAME (the same as
function:NAME) or owner:NAME. A function goes back to the budget in its
manifest, or to the daemon's default; an owner's functions are no longer
capped together. The change is recorded in the daemon's audit log.`,
	run: runBudgetRm,
}

func runBudgetRm(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	subject, err := budgetSubject(pos[0])
	if err != nil {
		return inv.usageErrorf("%v", err)
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	if err := c.ClearBudget(ctx, subject); err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "removed the budget override of %s\n", subject)
	return err
}

// budgetSubject maps the SUBJECT argument to the admin API's subject: a
// bare name is a function's. The daemon checks the names themselves.
func budgetSubject(arg string) (string, error) {
	kind, name, found := strings.Cut(arg, ":")
	switch {
	case !found && arg != "":
		return "function:" + arg, nil
	case (kind == "function" || kind == "owner") && name != "":
		return arg, nil
	default:
		return "", fmt.Errorf("SUBJECT %q: want a function NAME, function:NAME or owner:NAME", arg)
	}
}
