package cli

import (
	"context"
	"fmt"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/identity"
)

var consoleCommand = &command{
	name:        "console",
	summary:     "manage the web console (user)",
	subcommands: []*command{consoleUserCommand},
}

var consoleUserCommand = &command{
	name:    "console user",
	summary: "manage the web console's users (add, ls, set, reset-password, rm)",
	subcommands: []*command{
		consoleUserAddCommand,
		consoleUserLsCommand,
		consoleUserSetCommand,
		consoleUserResetCommand,
		consoleUserRmCommand,
	},
}

var consoleUserAddCommand = &command{
	name:    "console user add",
	args:    "NAME",
	summary: "create a web console user and print its password",
	help: `
Creates a user of the web console (/ui/ on the admin listener) with a role:
'viewer' sees every page and can do nothing; 'operator' may also
quarantine, restore, roll back, revoke API keys and retry dead letters.
The admin token stays the administrator. Prints the user's generated
password alone on the first line of stdout: the daemon keeps only an
argon2id hash of it, so it is shown this once.`,
	run: runConsoleUserAdd,
}

// userAndRole reads the arguments of a command on one console user with
// a --role: the user's name, the role, and a client of the daemon.
func userAndRole(inv *invocation, args []string) (name, role string, c *client.Client, err error) {
	dataDir := inv.dataDirFlag("data")
	r := inv.fs.String("role", "", "the user's `ROLE`: "+identity.RoleViewer+" or "+identity.RoleOperator+" (required)")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return "", "", nil, err
	}
	if !identity.ValidRole(*r) {
		return "", "", nil, inv.usageErrorf("--role is required: %s or %s", identity.RoleViewer, identity.RoleOperator)
	}
	c, err = inv.client(*dataDir)
	return pos[0], *r, c, err
}

func runConsoleUserAdd(ctx context.Context, inv *invocation, args []string) error {
	name, role, c, err := userAndRole(inv, args)
	if err != nil {
		return err
	}
	resp, err := c.CreateConsoleUser(ctx, client.CreateConsoleUserRequest{Name: name, Role: role})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(inv.stdout, resp.Password); err != nil {
		return err
	}
	fmt.Fprintf(inv.stderr, "Created console user %q (%s).\nGive them the password now: it will not be shown again.\n", resp.User.Name, resp.User.Role)
	return nil
}

var consoleUserLsCommand = &command{
	name:    "console user ls",
	summary: "list the web console's users",
	help: `
Lists the web console's users with their roles. Passwords are never
listed; the daemon does not have them.`,
	run: runConsoleUserLs,
}

func runConsoleUserLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.ConsoleUser]{
		fetch: (*client.Client).ListConsoleUsers,
		key:   func(u client.ConsoleUser) string { return u.Name },
		wire:  func(users []client.ConsoleUser) any { return client.ConsoleUserList{Users: users} },
		none:  "no console users; create one with 'pave console user add NAME --role viewer'",
		table: func(inv *invocation, users []client.ConsoleUser) error {
			tw := newTable(inv.stdout)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, formatTime(&u.CreatedAt))
			}
			return tw.Flush()
		},
	})
}

var consoleUserSetCommand = &command{
	name:    "console user set",
	args:    "NAME",
	summary: "change a web console user's role, ending their sessions",
	help: `
Changes the role of a user of the web console, keeping their password.
Their sessions end at their next request, on every node: they sign in
again with the new role.`,
	run: runConsoleUserSet,
}

func runConsoleUserSet(ctx context.Context, inv *invocation, args []string) error {
	name, role, c, err := userAndRole(inv, args)
	if err != nil {
		return err
	}
	u, err := c.SetConsoleUserRole(ctx, name, role)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "console user %s is now %s\n", u.Name, u.Role)
	return err
}

var consoleUserResetCommand = &command{
	name:    "console user reset-password",
	args:    "NAME",
	summary: "give a web console user a new password, ending their sessions",
	help: `
Gives a user of the web console a new generated password and prints it
alone on stdout, this once: the daemon keeps only its hash. The old
password stops working, and the user's sessions end at their next
request, on every node. Audited as console.user_password.`,
	run: runConsoleUserReset,
}

func runConsoleUserReset(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	resp, err := c.ResetConsoleUserPassword(ctx, pos[0])
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(inv.stdout, resp.Password); err != nil {
		return err
	}
	fmt.Fprintf(inv.stderr, "New password for console user %q.\nGive it to them now: it will not be shown again.\n", resp.User.Name)
	return nil
}

var consoleUserRmCommand = &command{
	name:    "console user rm",
	args:    "NAME",
	summary: "remove a web console user, ending their sessions",
	help: `
Removes a user of the web console. Their sessions end at their next
request, on every node.`,
	run: runConsoleUserRm,
}

func runConsoleUserRm(ctx context.Context, inv *invocation, args []string) error {
	return runOnName(ctx, inv, args, (*client.Client).RemoveConsoleUser, "removed console user %s\n")
}
