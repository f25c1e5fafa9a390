package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
)

var auditCommand = &command{
	name:    "audit",
	summary: "read and verify the audit log, and rotate its key (log, verify, rotate-key)",
	subcommands: []*command{
		auditLogCommand,
		auditVerifyCommand,
		auditRotateKeyCommand,
	},
}

var auditRotateKeyCommand = &command{
	name:    "audit rotate-key",
	summary: "seal the audit log with a new key from now on",
	help: `
Hands the audit log to a new key: a record sealed with the old key names
the new one, and every record after it is sealed with the new key. The
old key is kept beside the new one (audit.key.ID, ID being its id), as
the records it sealed stay in the log and are verified with it: keep it
as you keep the key, and out of the store's backups.

On one node the new key is made in audit.key.next beside the key file.
Nodes sharing an external store do not make it: put it beside every
node's audit key file first (audit.key.next, mode 0600); the rotation is
refused, naming them and changing nothing, while any node listed by pave
nodes does not hold it. Every node follows the rotation the next time it
writes to the log.`,
	run: runAuditRotateKey,
}

func runAuditRotateKey(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	r, err := c.RotateAuditKey(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "the audit log is sealed with audit key %s from now on; audit key %s is kept for the records it sealed\n", r.NewKeyID, r.OldKeyID)
	return err
}

var auditLogCommand = &command{
	name:    "audit log",
	summary: "print audit events",
	help: `
Prints the audit log: every administrative action (deploys, rollbacks,
removals, keys, secrets, budgets, quarantines) and every security refusal
(authentication, capability denials, budgets, input contracts, call depth),
with who, what, when, from where and the outcome, oldest first. --since is
a duration back from now or an RFC 3339 time; --json prints one JSON object
per line, for a SIEM.`,
	run: runAuditLog,
}

var auditVerifyCommand = &command{
	name:    "audit verify",
	summary: "check that the audit log is intact",
	help: `
Recomputes the audit log's hash chain, checks every seal's HMAC under the
audit key (kept outside the store) and the signed head, and reports the
first edited, missing, reordered or forged record, or a truncated log.
Exits 1 when it finds a problem. Records after the last seal are protected
by the chain only; the report says how many there are.`,
	run: runAuditVerify,
}

func runAuditLog(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	since := inv.fs.String("since", "", "how far back: a duration such as 24h, or an RFC 3339 time (default: all)")
	format := inv.formatFlag(formatTable, formatJSON)
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	f, err := format()
	if err != nil {
		return err
	}
	asJSON := f == formatJSON // one JSON object a line
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	tw := newTable(inv.stdout)
	if !asJSON {
		fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tSOURCE\tOUTCOME\tDETAILS")
	}
	err = c.AuditEvents(ctx, *since, func(e client.AuditEvent) error {
		if asJSON {
			return writeJSONLine(inv, e)
		}
		var details []string
		for _, k := range slices.Sorted(maps.Keys(e.Details)) {
			details = append(details, k+"="+e.Details[k])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action,
			dash(e.Target), dash(e.Source), e.Outcome, strings.Join(details, " "))
		return nil
	})
	if err != nil {
		return err
	}
	if asJSON {
		return nil
	}
	return tw.Flush()
}

func runAuditVerify(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	format := inv.formatFlag(formatText, formatJSON)
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
	rep, err := c.AuditVerify(ctx)
	if err != nil {
		return err
	}
	if f == formatJSON {
		if err := printJSON(inv.stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(inv.stdout, "records %d to %d: %d events, %d seals; last seal at record %d; %d unsealed\n",
			rep.First, rep.Last, rep.Events, rep.Seals, rep.LastSeal, rep.Unsealed)
		if rep.KeyID != "" {
			fmt.Fprintf(inv.stdout, "sealed with audit key %s after %d key rotation(s)\n", rep.KeyID, rep.Rotations)
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(inv.stdout, "warning: %s\n", w)
		}
	}
	if rep.Problem != nil {
		return errors.New("the audit log is not intact: " + rep.Problem.Text)
	}
	if f != formatJSON {
		fmt.Fprintln(inv.stdout, "the audit log is intact")
	}
	return nil
}
