package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/testguests"
)

// TestGarbageCollection removes a function and collects: its module and
// its snapshot go, the kept function's stay, and it still answers after a
// restart, which reads its snapshot back from the store.
func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := start(t, dir)
	ctx := context.Background()
	hello := n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	echo := n.deploy(manifestFor("echo", route("POST", "/echo"), ""), testguests.Example(t, "echo"))
	key := n.key("ci", "hello", "echo")
	if r := n.call("GET", "/hello", key, nil); r.status != 200 {
		t.Fatalf("hello: %d %s", r.status, r.body)
	}
	if r := n.call("POST", "/echo", key, []byte(`{}`)); r.status != 200 {
		t.Fatalf("echo: %d %s", r.status, r.body)
	}

	// Nothing is garbage while both are deployed.
	if rep, err := n.d.CollectGarbage(ctx, 0); err != nil || len(rep.Deleted) != 0 {
		t.Fatalf("with both deployed: %+v, %v", rep, err)
	}
	if err := n.admin.RemoveFunction(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	rep, err := n.d.CollectGarbage(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	echoHex := strings.TrimPrefix(echo.Digest, "sha256:")
	helloHex := strings.TrimPrefix(hello.Digest, "sha256:")
	if !slices.Contains(rep.Deleted, echoHex) {
		t.Errorf("echo's module was not deleted: %v", rep.Deleted)
	}
	if !slices.ContainsFunc(rep.Deleted, func(s string) bool { return strings.HasPrefix(s, "snapshot-") && strings.HasSuffix(s, echoHex) }) {
		t.Errorf("echo's snapshot was not deleted: %v", rep.Deleted)
	}
	for _, d := range rep.Deleted {
		if strings.Contains(d, helloHex) {
			t.Errorf("hello's %s was deleted", d)
		}
	}
	// A long grace period keeps everything recent.
	if err := n.admin.RemoveFunction(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if rep, err := n.d.CollectGarbage(ctx, 1<<40); err != nil || len(rep.Deleted) != 0 {
		t.Errorf("within the grace period: %+v, %v", rep, err)
	}
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key = n.key("ci-2", "hello") // rm took hello out of the first key's reach

	n.stop()
	n = start(t, dir)
	if r := n.call("GET", "/hello", key, nil); r.status != 200 || string(r.body) != "Hello, world!\n" {
		t.Errorf("after collection and a restart: %d %s", r.status, r.body)
	}
}
