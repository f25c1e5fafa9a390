package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pave-dev/pave/client"
)

var callCommand = &command{
	name:    "call",
	summary: "inspect asynchronous calls (get)",
	subcommands: []*command{
		callGetCommand,
	},
}

var callGetCommand = &command{
	name:    "call get",
	args:    "ID",
	summary: "show an asynchronous call and its result",
	help: `
Shows an asynchronous call, one submitted to a function's route under
/async or made by one of its topic or schedule triggers: its function,
route or trigger, caller, state (queued, running, retrying, succeeded,
failed or dead), attempts, when it was submitted and last changed, when
the next attempt is due, the error of the last attempt, the delivery of
its callback, and the function's response: status, headers and body. A
body that is not text is shown by its size only; the call record keeps the
start of a long body, and says so. With --json the call is printed as the
admin API returned it, the body base64-encoded.`,
	run: runCallGet,
}

var dlqCommand = &command{
	name:    "dlq",
	summary: "list and retry the dead letters of a function (ls, retry)",
	subcommands: []*command{
		dlqLsCommand,
		dlqRetryCommand,
	},
}

var dlqLsCommand = &command{
	name:    "dlq ls",
	args:    "NAME",
	summary: "list a function's dead letters",
	help: `
Lists a function's dead letters, oldest first: the asynchronous calls given
up after their retries and the events that could not be delivered to it.
SEQ is the dead letter's sequence number, which 'pave dlq retry' takes; AT
is when it was given up, ATTEMPTS how many times it ran, CODE and REASON
the error of its last attempt (REASON shortened to fit on the line: --json
prints it whole), ROUTE the route or trigger it came by, and CALL ID the
call, for 'pave call get'. Dead letters are kept for 30 days.`,
	run: runDLQLs,
}

var dlqRetryCommand = &command{
	name:    "dlq retry",
	args:    "NAME [SEQ...]",
	summary: "queue a function's dead letters again",
	help: `
Queues dead letters of a function again, each under its old call id with a
fresh set of attempts, and removes them from the dead letters: the ones whose
sequence numbers (SEQ, as 'pave dlq ls' shows them) are given, or with
--all every one the function has. Fix what made them fail first (deploy a
new version, or restore the service the function calls), or they will
fail the same way. The retry is recorded in the audit log.`,
	run: runDLQRetry,
}

func runCallGet(ctx context.Context, inv *invocation, args []string) error {
	return runShow(ctx, inv, args, (*client.Client).Call, printCall)
}

// printCall prints a call record in detail.
func printCall(w io.Writer, call *client.Call) error {
	tw := newTable(w)
	field := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	field("id", call.ID)
	field("function", call.Function)
	field("route", dash(call.Route))
	field("caller", dash(call.Caller))
	field("state", call.State)
	field("attempts", strconv.Itoa(call.Attempts))
	field("submitted", formatUTC(call.Submitted))
	field("updated", formatUTC(call.Updated))
	if call.NextAttempt != nil && !call.NextAttempt.IsZero() {
		field("next attempt", formatUTC(*call.NextAttempt))
	}
	if e := call.Error; e != nil {
		field("error", oneLine(e.Code+": "+e.Message))
	}
	if cb := call.Callback; cb != nil {
		field("callback", oneLine(cb.URL))
		delivered := "no"
		if cb.Delivered {
			delivered = "yes"
			if !cb.At.IsZero() {
				delivered += ", at " + formatUTC(cb.At)
			}
		}
		field("delivered", fmt.Sprintf("%s (%d attempt%s)", delivered, cb.Attempts, plural(cb.Attempts)))
		if cb.Error != "" {
			field("callback error", oneLine(cb.Error))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if call.Result != nil {
		printCallResult(w, call.Result)
	}
	return nil
}

// printCallResult prints the response a call record keeps: its status
// line, its headers and its body, or the body's size when it is not text.
func printCallResult(w io.Writer, r *client.CallResult) {
	fmt.Fprintf(w, "\nresult %d %s\n", r.Status, http.StatusText(r.Status))
	for _, h := range r.Headers {
		fmt.Fprintf(w, "  %s: %s\n", printableOrQuoted(h.Name), printableOrQuoted(h.Value))
	}
	fmt.Fprintln(w)
	switch {
	case len(r.Body) == 0:
		fmt.Fprintln(w, "(no body)")
	case !isText(r.Body):
		fmt.Fprintf(w, "%d bytes (binary)\n", len(r.Body))
	default:
		fmt.Fprint(w, string(r.Body))
		if r.Body[len(r.Body)-1] != '\n' {
			fmt.Fprintln(w)
		}
	}
	if r.Truncated {
		fmt.Fprintln(w, "(truncated)")
	}
}

// isText reports whether b can be printed as text: valid UTF-8 with no
// control characters but tabs and line ends. A function's response is not
// the operator's to trust, and escape sequences in it could rewrite what
// the terminal shows.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// printableOrQuoted returns s, or s quoted when it holds control
// characters.
func printableOrQuoted(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

// oneLine writes a message on one line, its runs of white space as one
// space and other control characters escaped.
func oneLine(s string) string {
	return printableOrQuoted(strings.Join(strings.Fields(s), " "))
}

// formatUTC formats a time for a table: RFC 3339 in UTC, or "-" for none.
func formatUTC(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// maxReason is the most characters of a dead letter's reason 'pave dlq
// ls' shows.
const maxReason = 60

// clip shortens s to at most n characters, n more than 3, marking the cut
// with "...". It cuts between words when that keeps most of the line.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	kept := string([]rune(s)[:n-3])
	if i := strings.LastIndexByte(kept, ' '); i >= 0 && utf8.RuneCountInString(kept[:i]) >= (n-3)*2/3 {
		kept = kept[:i]
	}
	return strings.TrimRightFunc(kept, unicode.IsSpace) + "..."
}

func runDLQLs(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	limit := inv.fs.Int("limit", 100, "list the oldest `N` dead letters, up to 1000")
	format := inv.formatFlag(formatTable, formatJSON)
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	f, err := format()
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return inv.usageErrorf("--limit must be from 1 to 1000")
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	dead, err := c.DeadLetters(ctx, pos[0], *limit)
	if err != nil {
		return err
	}
	if f == formatJSON {
		if dead == nil {
			dead = []client.DeadLetter{}
		}
		return printJSON(inv.stdout, dead)
	}
	if len(dead) == 0 {
		fmt.Fprintf(inv.stderr, "no dead letters for %s\n", pos[0])
		return nil
	}
	tw := newTable(inv.stdout)
	fmt.Fprintln(tw, "SEQ\tAT\tATTEMPTS\tCODE\tROUTE\tCALL ID\tREASON")
	for _, d := range dead {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", d.Sequence, formatUTC(d.At), d.Attempts, dash(oneLine(d.Error.Code)),
			dash(oneLine(d.Job.Route)), dash(oneLine(d.Job.ID)), dash(clip(oneLine(d.Error.Message), maxReason)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(dead) == *limit {
		fmt.Fprintf(inv.stderr, "the oldest %d shown; --limit shows more\n", *limit)
	}
	return nil
}

func runDLQRetry(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	all := inv.fs.Bool("all", false, "queue every dead letter of the function again")
	pos, err := inv.parse(args, 1, -1)
	if err != nil {
		return err
	}
	name, given := pos[0], pos[1:]
	switch {
	case *all && len(given) > 0:
		return inv.usageErrorf("give sequence numbers or --all, not both")
	case !*all && len(given) == 0:
		return inv.usageErrorf("name the dead letters to retry by their sequence numbers (SEQ in 'pave dlq ls %s'), or pass --all", name)
	}
	req := client.RedriveRequest{All: *all}
	for _, s := range given {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil || seq == 0 {
			return inv.usageErrorf("SEQ %q: want a sequence number, 1 or more", s)
		}
		// Each dead letter is queued once: the second time, it would no
		// longer be dead.
		if !slices.Contains(req.Sequences, seq) {
			req.Sequences = append(req.Sequences, seq)
		}
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	res, err := c.Redrive(ctx, name, req)
	if err != nil {
		return err
	}
	if res.Redriven == 0 {
		_, err = fmt.Fprintf(inv.stdout, "no dead letters for %s; none queued\n", name)
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "queued %d dead letter%s of %s again\n", res.Redriven, plural(res.Redriven), name)
	return err
}
