package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
)

var keysCommand = &command{
	name:    "keys",
	summary: "manage the API keys that call functions (create, ls, update, revoke)",
	subcommands: []*command{
		keysCreateCommand,
		keysLsCommand,
		keysUpdateCommand,
		keysRevokeCommand,
	},
}

var keysCreateCommand = &command{
	name:    "keys create",
	args:    "NAME",
	summary: "create an API key and print its secret",
	help: `
Creates an API key that may call the functions given with --functions, and
prints its secret alone on the first line of stdout. The daemon keeps only
a hash of it: the secret is shown this once and cannot be shown again, so
store it now. Callers send it as 'Authorization: Bearer SECRET'.`,
	run: runKeysCreate,
}

func runKeysCreate(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	functions := inv.fs.String("functions", "", "comma-separated `NAMES` of the functions the key may call (required)")
	expires := inv.fs.Duration("expires", 0, "how long the key is valid, such as 720h (default: it does not expire)")
	scopes := inv.fs.String("scopes", "", "comma-separated `SCOPES` granted to the key, for routes that require them")
	cidrs := inv.fs.String("cidr", "", "comma-separated source `NETWORKS` the key works from, such as 10.0.0.0/8 (default: any)")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	names := splitList(*functions)
	if len(names) == 0 {
		return inv.usageErrorf("--functions is required: name the functions the key may call")
	}
	if *expires < 0 {
		return inv.usageErrorf("--expires %s: want a positive duration", *expires)
	}
	req := client.CreateKeyRequest{Name: pos[0], Functions: names, Scopes: splitList(*scopes), CIDRs: splitList(*cidrs)}
	if *expires > 0 {
		req.ExpiresIn = expires.String()
	}

	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	resp, err := c.CreateKey(ctx, req)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(inv.stdout, resp.Secret); err != nil {
		return err
	}
	expiry := "does not expire"
	if resp.Key.ExpiresAt != nil {
		expiry = "expires " + formatTime(resp.Key.ExpiresAt)
	}
	fmt.Fprintf(inv.stderr, "Created key %q for %s; it %s.\nStore the secret now: it will not be shown again.\n",
		resp.Key.Name, strings.Join(resp.Key.Functions, ", "), expiry)
	return nil
}

var keysLsCommand = &command{
	name:    "keys ls",
	summary: "list API keys",
	help: `
Lists the API keys, revoked and expired ones included: the functions each
may call, when it was created, when it expires, and whether it is active.
Secrets are never listed; the daemon does not have them.`,
	run: runKeysLs,
}

func runKeysLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.Key]{
		fetch: (*client.Client).ListKeys,
		key:   func(k client.Key) string { return k.Name },
		wire:  func(keys []client.Key) any { return client.KeyList{Keys: keys} },
		none:  "no API keys; create one with 'pave keys create NAME --functions FN'",
		table: printKeys,
	})
}

// printKeys prints keys as a table.
func printKeys(inv *invocation, keys []client.Key) error {
	joinOrDash := func(list []string) string {
		if len(list) == 0 {
			return "-"
		}
		return strings.Join(list, ",")
	}
	// Source networks are rare enough that their column shows only when
	// some key is restricted.
	networks := slices.ContainsFunc(keys, func(k client.Key) bool { return len(k.CIDRs) > 0 })
	now := time.Now()
	tw := newTable(inv.stdout)
	fmt.Fprint(tw, "NAME\tFUNCTIONS\tSCOPES\t")
	if networks {
		fmt.Fprint(tw, "NETWORKS\t")
	}
	fmt.Fprintln(tw, "CREATED\tEXPIRES\tSTATUS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t", k.Name, strings.Join(k.Functions, ","), joinOrDash(k.Scopes))
		if networks {
			fmt.Fprintf(tw, "%s\t", joinOrDash(k.CIDRs))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", formatTime(&k.CreatedAt), formatTime(k.ExpiresAt), keyStatus(k, now))
	}
	return tw.Flush()
}

// keyStatus says whether a key can be used at time now.
func keyStatus(k client.Key, now time.Time) string {
	switch {
	case k.Revoked:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	default:
		return "active"
	}
}

var keysUpdateCommand = &command{
	name:    "keys update",
	args:    "NAME",
	summary: "change the functions an API key may call",
	help: `
Adds the functions given with --add-functions to those the API key may
call, and removes those given with --remove-functions. The key keeps its
secret, so callers need not change anything. A function added must be
deployed; a key must keep at least one function (revoke it instead), and
a revoked key cannot be changed. The change is audited as key.update.`,
	run: runKeysUpdate,
}

func runKeysUpdate(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	add := inv.fs.String("add-functions", "", "comma-separated `NAMES` of functions the key may call from now on")
	remove := inv.fs.String("remove-functions", "", "comma-separated `NAMES` of functions the key may no longer call")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	req := client.UpdateKeyRequest{AddFunctions: splitList(*add), RemoveFunctions: splitList(*remove)}
	if len(req.AddFunctions) == 0 && len(req.RemoveFunctions) == 0 {
		return inv.usageErrorf("name functions with --add-functions or --remove-functions")
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	key, err := c.UpdateKey(ctx, pos[0], req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "key %s may call %s\n", key.Name, strings.Join(key.Functions, ", "))
	return err
}

var keysRevokeCommand = &command{
	name:    "keys revoke",
	args:    "NAME",
	summary: "revoke an API key",
	help: `
Revokes an API key: every request made with it is refused from then on.
The key stays listed, as revoked, for the record.`,
	run: runKeysRevoke,
}

func runKeysRevoke(ctx context.Context, inv *invocation, args []string) error {
	return runOnName(ctx, inv, args, (*client.Client).RevokeKey, "revoked key %s\n")
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
