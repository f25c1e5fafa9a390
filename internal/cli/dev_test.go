package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/testguests"
)

// syncBuffer is a buffer that a test reads while a goroutine writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until out holds want, failing the test after a minute.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, out.String())
		}
	}
}

// TestDev runs pave dev's loop on a function against a real daemon: it
// deploys, prints each call with its log lines, deploys again when a file
// changes, says unchanged when nothing that runs changed, and keeps the
// deployed version when a save breaks the manifest.
func TestDev(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon; skipped with -short")
	}
	d, c, _ := upDaemon(t, t.TempDir())
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "logger.wasm"), testguests.Build(t, "logger"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := "name: logger\nowner: team-dev\nmodule: logger.wasm\nroutes:\n  - method: GET\n    path: /logger\n    public: true\n"
	write("pave.yaml", manifest)

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	loop := &devLoop{c: c, dir: dir, interval: 20 * time.Millisecond, stdout: &stdout, stderr: &stderr}
	ended := make(chan error)
	go func() { ended <- loop.run(ctx) }()
	defer func() {
		cancel()
		if err := <-ended; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, &stdout, "deployed logger version 1")
	waitFor(t, &stderr, "watching")

	resp, err := http.Get(d.GatewayURL() + "/logger?name=dev")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, &stdout, "INFO  hello dev")

	write("pave.yaml", manifest+"description: changed\n")
	waitFor(t, &stdout, "deployed logger version 2")
	// A file that does not change what runs: the deploy is unchanged.
	write("notes.txt", "a note")
	waitFor(t, &stdout, "unchanged logger version 2")

	write("pave.yaml", manifest+"timout: 5s\n")
	waitFor(t, &stderr, `unknown field "timout"`)
	waitFor(t, &stderr, "the version deployed before stays")
	if f, err := c.GetFunction(context.Background(), "logger"); err != nil || f.Version != 2 {
		t.Fatalf("after a broken save: %v %+v", err, f)
	}
	write("pave.yaml", manifest+"limits:\n  timeout: 5s\n")
	waitFor(t, &stdout, "deployed logger version 3")
}

func TestDirState(t *testing.T) {
	dir := t.TempDir()
	state := func() uint64 {
		t.Helper()
		s, err := dirState(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "package main")
	before := state()
	for _, skipped := range []string{".pave/fn.wasm", ".git/index", "node_modules/x/index.js"} {
		write(skipped, "built")
		if state() != before {
			t.Errorf("writing %s changed the state", skipped)
		}
	}
	if write("main.go", "package main // changed"); state() == before {
		t.Error("a changed file left the state as it was")
	}
	before = state()
	if write("sub/util.go", "package main"); state() == before {
		t.Error("a new file left the state as it was")
	}
	before = state()
	if err := os.Remove(filepath.Join(dir, "sub", "util.go")); err != nil {
		t.Fatal(err)
	}
	if state() == before {
		t.Error("a removed file left the state as it was")
	}
}
