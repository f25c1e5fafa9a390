package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/daemon"
	"github.com/pave-dev/pave/internal/testguests"
)

// upDaemon starts a daemon on dataDir as up does, and returns an admin
// client for it; the daemon stops when stop is called or the test ends.
func upDaemon(t *testing.T, dataDir string) (d *daemon.Daemon, c *client.Client, stop func()) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.GatewayAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CompileBeforeServing = true
	d, err := daemon.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	token, err := config.ReadTokenFile(cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			if err := d.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return d, client.New(d.AdminURL(), token.Reveal()), stop
}

// gatewayStatus returns the status of GET path on the gateway with key.
func gatewayStatus(t *testing.T, d *daemon.Daemon, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", d.GatewayURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUpAgain runs up's deploy of the examples again on a restarted
// daemon: the key printed before still works and is printed again, no
// example gets a new version, and the GET /notes/{id} line names a note
// that exists. A key revoked in between, or one whose secret up did not
// keep, is replaced, with a note saying so.
func TestUpAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon; skipped with -short")
	}
	ctx := context.Background()
	var srcs []*source
	for _, name := range []string{"hello", "notes"} {
		src, err := loadSource(testguests.ExampleDir(t, name))
		if err != nil {
			t.Fatal(err)
		}
		src.wasm = filepath.Join(t.TempDir(), name+".wasm")
		if err := os.WriteFile(src.wasm, testguests.Example(t, name), 0o600); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "examples.key")
	prog := newProgress(io.Discard)

	d, c, stop := upDaemon(t, dir)
	fns, first, err := deployExamples(ctx, c, srcs, prog, keyFile)
	if err != nil || first.reused || first.note != "" || len(fns) != 2 {
		t.Fatalf("first run: %v %+v", err, first)
	}
	samples := sampleParams(ctx, c, fns, io.Discard)
	id := samples["notes GET /notes/{id}"]["id"]
	if id == "" {
		t.Fatalf("no sample note: %v", samples)
	}
	line := curlCommand(d.GatewayURL(), client.Route{Method: "GET", Path: "/notes/{id}"}, first.secret, samples["notes GET /notes/{id}"])
	if !strings.HasSuffix(line, "/notes/"+id) {
		t.Errorf("curl line %s does not name the note %s", line, id)
	}
	if s := gatewayStatus(t, d, "/notes/"+id, first.secret); s != 200 {
		t.Fatalf("GET /notes/%s: %d", id, s)
	}
	stop()

	d, c, _ = upDaemon(t, dir)
	fns, again, err := deployExamples(ctx, c, srcs, prog, keyFile)
	if err != nil || !again.reused || again.secret != first.secret || again.note != "" {
		t.Fatalf("after a restart: %v, reused %v, note %q, same key %v", err, again.reused, again.note, again.secret == first.secret)
	}
	for _, fn := range fns {
		if !fn.Unchanged || fn.Version != 1 {
			t.Errorf("after a restart %s is version %d, unchanged %v", fn.Name, fn.Version, fn.Unchanged)
		}
	}
	if s := gatewayStatus(t, d, "/notes/"+id, first.secret); s != 200 {
		t.Fatalf("the saved curl line after a restart: %d", s)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	var out strings.Builder
	printWelcome(&out, welcome{d: d, cfg: cfg, key: again, fns: fns, samples: samples, pave: "/opt/x/pave"})
	for _, want := range []string{
		"it is the key of the earlier run, kept in " + keyFile,
		"/notes/" + id + "\n",
		"'Authorization: Bearer " + first.secret + "'",
		"List them with '/opt/x/pave ls --data " + dir + "'",
		"go install ./cmd/pave",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the welcome has no %q:\n%s", want, out.String())
		}
	}

	// A key revoked by hand is replaced, and up says so.
	if err := c.RevokeKey(ctx, examplesKey); err != nil {
		t.Fatal(err)
	}
	_, replaced, err := deployExamples(ctx, c, srcs, prog, keyFile)
	if err != nil || replaced.reused || replaced.secret == first.secret || !strings.Contains(replaced.note, "401") {
		t.Fatalf("after a revocation: %v, reused %v, note %q", err, replaced.reused, replaced.note)
	}
	if s := gatewayStatus(t, d, "/hello", replaced.secret); s != 200 {
		t.Fatalf("the new key: %d", s)
	}
	// A live key whose secret up did not keep is revoked and replaced.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	_, fresh, err := deployExamples(ctx, c, srcs, prog, keyFile)
	if err != nil || fresh.reused || fresh.secret == replaced.secret || !strings.HasPrefix(fresh.note, "Revoked") {
		t.Fatalf("without the key file: %v, reused %v, note %q", err, fresh.reused, fresh.note)
	}
	if s := gatewayStatus(t, d, "/hello", replaced.secret); s != 401 {
		t.Errorf("the replaced key answered %d, want 401", s)
	}
}

func TestPaveCommandFor(t *testing.T) {
	bin, tmp := t.TempDir(), t.TempDir()
	installed := filepath.Join(bin, "pave")
	if err := os.WriteFile(installed, nil, 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "my pave")
	for _, tc := range []struct{ self, path, want string }{
		{installed, "/nonexistent" + string(filepath.ListSeparator) + bin, "pave"},
		{installed, "/nonexistent", shellQuote(installed)},
		{elsewhere, bin, shellQuote(elsewhere)},
		{filepath.Join(tmp, "go-build123", "b001", "exe", "pave"), bin, "go run ./cmd/pave"},
	} {
		if got := paveCommandFor(tc.self, tc.path, tmp); got != tc.want {
			t.Errorf("paveCommandFor(%q, %q) = %q, want %q", tc.self, tc.path, got, tc.want)
		}
	}
}
