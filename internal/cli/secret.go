package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pave-dev/pave/client"
)

var secretCommand = &command{
	name:    "secret",
	summary: "manage the encrypted secrets functions may be granted (set, ls, rm, rotate-master)",
	subcommands: []*command{
		secretSetCommand,
		secretLsCommand,
		secretRmCommand,
		secretRotateCommand,
	},
}

// maxSecretValue is the largest value the daemon accepts.
const maxSecretValue = 64 << 10

var secretSetCommand = &command{
	name:    "secret set",
	args:    "NAME",
	summary: "store a new version of a secret, read from stdin or a file",
	help: `
Stores a new version of secret NAME. The value is read from stdin, or from
the file given with --file; never from an argument, which would end up in
shell history and process listings. One trailing newline of stdin is
dropped, so that

    printf %s "$VALUE" | pave secret set NAME
    pave secret set NAME < value.txt

store the same value. Functions whose manifests grant NAME read its latest
version; older versions stay readable until the secret is removed. No
command or API shows a value again.`,
	run: runSecretSet,
}

func runSecretSet(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	file := inv.fs.String("file", "", "read the value from `PATH` instead of stdin")
	pos, err := inv.parse(args, 1, -1)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return inv.usageErrorf("the value is read from stdin or --file, never from an argument (arguments end up in shell history and process listings)")
	}
	var value []byte
	if *file != "" {
		value, err = readLimited(*file)
	} else {
		value, err = io.ReadAll(io.LimitReader(inv.stdin, maxSecretValue+2))
		value = trimNewline(value)
	}
	if err != nil {
		return err
	}
	switch {
	case len(value) == 0:
		return inv.usageErrorf("the value is empty")
	case len(value) > maxSecretValue:
		return inv.usageErrorf("the value is larger than %d bytes", maxSecretValue)
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	info, err := c.SetSecret(ctx, pos[0], value)
	clear(value)
	if err != nil {
		return err
	}
	version := 0
	if n := len(info.Versions); n > 0 {
		version = info.Versions[n-1].Number
	}
	_, err = fmt.Fprintf(inv.stdout, "set secret %s, version %d\n", info.Name, version)
	return err
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxSecretValue+1))
}

// trimNewline drops one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	b, _ = bytes.CutSuffix(b, []byte("\n"))
	b, _ = bytes.CutSuffix(b, []byte("\r"))
	return b
}

var secretLsCommand = &command{
	name:    "secret ls",
	summary: "list secrets: names, versions, dates and the functions granted",
	help: `
Lists the secrets: their versions, when each was created and last rotated,
and the functions whose manifests grant them. Values are never listed.`,
	run: runSecretLs,
}

func runSecretLs(ctx context.Context, inv *invocation, args []string) error {
	return runList(ctx, inv, args, list[client.SecretInfo]{
		fetch: (*client.Client).ListSecrets,
		wire:  func(secrets []client.SecretInfo) any { return client.SecretList{Secrets: secrets} },
		none:  "no secrets; set one with 'pave secret set NAME < value.txt'",
		table: printSecrets,
	})
}

// printSecrets prints secrets as a table, in the order the daemon lists
// them.
func printSecrets(inv *invocation, list []client.SecretInfo) error {
	tw := newTable(inv.stdout)
	fmt.Fprintln(tw, "NAME\tVERSIONS\tLATEST\tCREATED\tLAST ROTATED\tGRANTED TO")
	for _, s := range list {
		latest := "-"
		if n := len(s.Versions); n > 0 {
			latest = strconv.Itoa(s.Versions[n-1].Number)
		}
		granted := strings.Join(s.GrantedTo, ",")
		if granted == "" {
			granted = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, len(s.Versions), latest,
			formatTime(&s.CreatedAt), formatTime(&s.RotatedAt), granted)
	}
	return tw.Flush()
}

var secretRmCommand = &command{
	name:    "secret rm",
	args:    "NAME",
	summary: "remove a secret and all its versions",
	help: `
Removes secret NAME and every version of it. Functions granted it get
"not found" from then on.`,
	run: runSecretRm,
}

func runSecretRm(ctx context.Context, inv *invocation, args []string) error {
	return runOnName(ctx, inv, args, (*client.Client).RemoveSecret, "removed secret %s\n")
}

var secretRotateCommand = &command{
	name:    "secret rotate-master",
	summary: "re-encrypt every secret's data key under a new master key",
	help: `
Creates a new master key, re-wraps the data key of every version of every
secret under it, reads every version back with it, and only then replaces
the master key file. A daemon stopped halfway finishes the rotation when it
next starts. Keep a backup of the new key file: without it no secret can
be read. A daemon given its key by PAVE_MASTER_KEY cannot rotate it.

Nodes sharing an external store do not create the new key: put it beside
every node's master key file first (master.key.next). The rotation is
refused, naming them and changing nothing, while any node listed by pave
nodes does not hold it.`,
	run: runSecretRotate,
}

func runSecretRotate(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	r, err := c.RotateMaster(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(inv.stdout, "master key %s replaced by %s; %d secret versions re-wrapped and read back\n", r.OldKeyID, r.NewKeyID, r.Rewrapped)
	return err
}
