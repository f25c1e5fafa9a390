package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/client"
)

var logsCommand = &command{
	name:    "logs",
	args:    "NAME",
	summary: "print a function's log lines and invocations",
	help: `
Prints the log lines a function wrote, each after a line for the invocation
it belongs to (time, request id, status, duration, caller), oldest first.
--since is a duration back from now (default 1h) or an RFC 3339 time;
--status keeps invocations with that status or class (404, 5xx); --follow
keeps printing new invocations as they happen, until Ctrl-C. Records are
written about every quarter of a second, so the newest may take that long
to appear. With --json every invocation is printed as one JSON object per
line, its log lines inside.`,
	run: runLogs,
}

var callsCommand = &command{
	name:    "calls",
	args:    "NAME",
	summary: "list a function's recent invocations",
	help: `
Lists a function's recent invocations, newest last: time, request id,
route or trigger, caller, status, error code, duration, memory and the
capability calls each made. --since, --status and --format are as for
'pave logs'; --limit keeps the newest N (default 100).`,
	run: runCalls,
}

// historyFlags defines the flags logs and calls share; after parse, json
// says whether to print each invocation as a JSON object on one line
// (--format json), else the format for people, named human.
func historyFlags(inv *invocation, human string) (since, status *string, json func() (bool, error)) {
	since = inv.fs.String("since", "1h", "how far back: a duration such as 30m, or an RFC 3339 time")
	status = inv.fs.String("status", "", "only invocations with this status or class, such as 404 or 5xx")
	format := inv.formatFlag(human, formatJSON)
	json = func() (bool, error) {
		f, err := format()
		return f == formatJSON, err
	}
	return
}

func runLogs(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	since, status, jsonFormat := historyFlags(inv, formatText)
	follow := inv.fs.Bool("follow", false, "keep printing new invocations until interrupted")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	asJSON, err := jsonFormat()
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	if *follow {
		var stop func()
		ctx, stop = signalContext(ctx)
		defer stop()
	}
	q := client.HistoryQuery{Since: *since, Status: *status, Follow: *follow, Limit: 10000}
	return c.History(ctx, pos[0], q, func(rec client.Invocation) error {
		if asJSON {
			return writeJSONLine(inv, rec)
		}
		printInvocation(inv.stdout, rec)
		return nil
	})
}

// printInvocation prints an invocation as pave logs does: a line with its
// time, request id, status, outcome and duration, then its log lines.
func printInvocation(w io.Writer, rec client.Invocation) {
	fmt.Fprintf(w, "%s %s %d %s %s\n", rec.Time.UTC().Format(time.RFC3339Nano), rec.RequestID,
		rec.Status, outcomeOf(rec), formatMS(rec.DurationMS))
	for _, l := range rec.Logs {
		fmt.Fprintf(w, "  %-5s %s\n", strings.ToUpper(l.Level), l.Msg)
	}
	if rec.DroppedLogs > 0 {
		fmt.Fprintf(w, "  (%d more lines dropped: over the limit per invocation)\n", rec.DroppedLogs)
	}
}

func runCalls(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	since, status, jsonFormat := historyFlags(inv, formatTable)
	limit := inv.fs.Int("limit", 100, "keep the newest N invocations")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	asJSON, err := jsonFormat()
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 10000 {
		return inv.usageErrorf("--limit must be from 1 to 10000")
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	var recs []client.Invocation
	err = c.History(ctx, pos[0], client.HistoryQuery{Since: *since, Status: *status, Limit: *limit}, func(rec client.Invocation) error {
		if asJSON {
			return writeJSONLine(inv, rec)
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil || asJSON {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintf(inv.stderr, "no invocations of %s since %s\n", pos[0], *since)
		return nil
	}
	tw := newTable(inv.stdout)
	fmt.Fprintln(tw, "TIME\tREQUEST-ID\tROUTE\tCALLER\tSTATUS\tOUTCOME\tDURATION\tMEMORY\tCAPABILITIES")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format(time.RFC3339), r.RequestID,
			dash(r.Route), dash(r.Caller), r.Status, outcomeOf(r), formatMS(r.DurationMS), formatMiB(r.MemoryBytes), formatCaps(r.Capabilities))
	}
	return tw.Flush()
}

func writeJSONLine(inv *invocation, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "%s\n", b)
	return err
}

func outcomeOf(r client.Invocation) string {
	if r.Code != "" {
		return r.Code
	}
	return "ok"
}

func formatMS(ms float64) string { return fmt.Sprintf("%.2fms", ms) }

func formatMiB(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}

func formatCaps(caps map[string]client.CapabilityCount) string {
	if len(caps) == 0 {
		return "-"
	}
	var parts []string
	for _, g := range abi.CapabilityGroups {
		name := g.Name
		c, ok := caps[name]
		if !ok {
			continue
		}
		s := fmt.Sprintf("%s:%d", name, c.Calls)
		if c.Denials > 0 {
			s += fmt.Sprintf("(%d denied)", c.Denials)
		}
		if c.Failures > 0 {
			s += fmt.Sprintf("(%d failed)", c.Failures)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
