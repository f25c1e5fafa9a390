package cli

import (
	"context"
	"fmt"
	"time"
)

var adminCommand = &command{
	name:    "admin",
	summary: "manage the admin token (rotate-token)",
	subcommands: []*command{
		adminRotateTokenCommand,
	},
}

var adminRotateTokenCommand = &command{
	name:    "admin rotate-token",
	summary: "replace the admin token, the old one working for a grace period",
	help: `
Makes a new admin token and prints it alone on the first line of stdout,
this once: the daemons keep only its hash. Every daemon sharing the store
accepts it at once, and the token it replaces for --grace more (default 1h,
at most 168h; 0 ends it at once), so that clients can move to the new one
without an outage. The daemon that makes the rotation rewrites its token
file (DATA/admin.token) with the new token; give it to every other client
(PAVE_TOKEN, other nodes' token files) within the grace period. Audited as
admin.rotate_token.`,
	run: runAdminRotateToken,
}

func runAdminRotateToken(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	grace := inv.fs.Duration("grace", time.Hour, "how long the old token keeps working, 0 to 168h")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	r, err := c.RotateAdminToken(ctx, *grace)
	if err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout, r.Token)
	if r.PreviousValidUntil.IsZero() {
		fmt.Fprintln(inv.stderr, "the previous admin token no longer works")
	} else {
		fmt.Fprintf(inv.stderr, "the previous admin token works until %s\n", r.PreviousValidUntil.Local().Format(time.RFC3339))
	}
	return nil
}
