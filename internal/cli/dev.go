package cli

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
)

var devCommand = &command{
	name:    "dev",
	args:    "[DIR]",
	summary: "build and deploy a function on every save, printing its calls",
	help: `
Builds the function in DIR (the current directory by default) and deploys
it to the local daemon (start one with 'pave up' or 'pave serve'), then
watches DIR: on every save it builds and deploys again, and it prints each
call of the function with its log lines as they happen, as 'pave logs
--follow' does. A build that fails is reported and the version deployed
before stays; the next save tries again. A deploy of what runs already is
reported unchanged. Ctrl-C stops watching; the function stays deployed.

DIR is checked for changes every --interval by the size and modification
time of its files (hidden directories such as .pave, where builds go, and
node_modules are skipped): no file-system events are needed, so it works the same on every
platform, in containers and on network file systems.`,
	run: runDev,
}

func runDev(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	interval := inv.fs.Duration("interval", 500*time.Millisecond, "how often to look for changes in DIR")
	pos, err := inv.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *interval < 10*time.Millisecond {
		return inv.usageErrorf("--interval %s: want at least 10ms", *interval)
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	d := &devLoop{c: c, dir: dir, interval: *interval, stdout: &lockedWriter{w: inv.stdout}, stderr: inv.stderr}
	return d.run(ctx)
}

// devLoop is one run of pave dev.
type devLoop struct {
	c        *client.Client
	dir      string
	interval time.Duration
	stdout   io.Writer
	stderr   io.Writer
}

// run deploys the function, then deploys it again on every change of its
// directory, until ctx ends. Only a first deploy that fails ends it.
func (d *devLoop) run(ctx context.Context) error {
	prog := newProgress(d.stderr)
	seen, err := dirState(d.dir)
	if err != nil {
		return err
	}
	name, err := d.deploy(ctx, prog)
	if err != nil {
		return err
	}
	stopFollowing := d.follow(ctx, name)
	defer func() { stopFollowing() }()
	fmt.Fprintf(d.stderr, "watching %s for changes; Ctrl-C stops\n", d.dir)
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now, err := dirState(d.dir)
		if err != nil {
			fmt.Fprintf(d.stderr, "pave: %v\n", err)
			continue
		}
		if now == seen {
			continue
		}
		// An editor may write a file in several steps, or several files
		// at once: wait for the directory to stay still for an interval.
		for settled := false; !settled; {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d.interval):
			}
			next, err := dirState(d.dir)
			settled = err == nil && next == now
			now = next
		}
		seen = now
		again, err := d.deploy(ctx, prog)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintf(d.stderr, "pave: %v\n", err)
			fmt.Fprintln(d.stderr, "the version deployed before stays; save again to retry")
			continue
		}
		if again != name {
			stopFollowing()
			name, stopFollowing = again, d.follow(ctx, again)
		}
	}
}

// deploy builds and deploys the function as it is on disk and returns its
// name.
func (d *devLoop) deploy(ctx context.Context, prog *progress) (string, error) {
	src, err := loadSource(d.dir)
	if err != nil {
		return "", err
	}
	fn, err := buildAndDeploy(ctx, d.c, src, prog)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(d.stdout, "%s %s version %d (%s)\n", deployVerb(fn), fn.Name, fn.Version, shortDigest(fn.Digest))
	if !fn.Unchanged {
		printRoutes(d.stdout, fn.Routes)
	}
	return fn.Name, nil
}

// follow prints the calls of function from now on until ctx ends or the
// function returned is called, following again after a lost connection.
func (d *devLoop) follow(ctx context.Context, function string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		since := time.Now().UTC()
		for ctx.Err() == nil {
			q := client.HistoryQuery{Since: since.Format(time.RFC3339Nano), Follow: true, Limit: 10000}
			err := d.c.History(ctx, function, q, func(rec client.Invocation) error {
				printInvocation(d.stdout, rec)
				since = rec.Time.Add(time.Nanosecond)
				return nil
			})
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(d.stderr, "pave: following the calls of %s: %v\n", function, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// dirState sums up the files under dir that a build reads: their paths,
// sizes, modes and modification times. Hidden directories (.git, and
// .pave, the build directory) and node_modules are skipped.
func dirState(dir string) (uint64, error) {
	h := fnv.New64a()
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil // removed while walking
			}
			return err
		}
		if e.IsDir() {
			if path != dir && (strings.HasPrefix(e.Name(), ".") || e.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil // its files say what changed
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", path, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	return h.Sum64(), err
}
