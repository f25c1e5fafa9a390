package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/pave-dev/pave/client"
)

var quarantineCommand = &command{
	name:    "quarantine",
	args:    "NAME",
	summary: "disable a function without deleting it",
	help: `
Disables a function: its routes answer 403 function_quarantined, other
functions and the operator can no longer invoke it, so its grants cannot be
used, and it keeps its versions, keys and data for 'pave restore'. The
reason (--reason, required) is kept with it and shown by 'pave get'. The
change is recorded in the audit log.`,
	run: runQuarantine,
}

var restoreCommand = &command{
	name:    "restore",
	args:    "NAME",
	summary: "end a function's quarantine",
	help: `
Re-enables a function that 'pave quarantine' disabled. The change is
recorded in the audit log.`,
	run: runRestore,
}

func runQuarantine(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	reason := inv.fs.String("reason", "", "why the function is disabled (required)")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return inv.usageErrorf("--reason is required: say why the function is disabled")
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	if _, err := c.Quarantine(ctx, pos[0], *reason); err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "quarantined %s; 'pave restore %s' enables it again\n", pos[0], pos[0])
	return nil
}

func runRestore(ctx context.Context, inv *invocation, args []string) error {
	restore := func(c *client.Client, ctx context.Context, name string) error {
		_, err := c.Restore(ctx, name)
		return err
	}
	return runOnName(ctx, inv, args, restore, "restored %s\n")
}
