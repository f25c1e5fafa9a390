package daemon_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// An upload starts preparing its module before any deploy, and the deploy
// that follows uses that work: it loads nothing more. A module the manifest
// does not allow is refused as ever, and records nothing.
func TestUploadPreparesTheModuleForTheDeploy(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	ctx := context.Background()
	tests := []struct {
		name     string
		manifest string
		module   []byte
		code     string // of the refusal; "" for a deploy that succeeds
	}{
		{"not granted", manifestFor("kv", route("GET", "/kv"), ""), testguests.Build(t, "kvimport"), "invalid_module"},
		{"allowed", manifestFor("counter", route("GET", "/counter"), ""), testguests.Build(t, "counter"), ""},
	}
	for _, tt := range tests {
		loaded := n.d.LoadedModules()
		digest, err := n.admin.PutBlob(ctx, tt.module)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.d.LoadedModules(); got != loaded+1 {
			t.Fatalf("%s: %d modules loaded or loading after the upload, want %d", tt.name, got, loaded+1)
		}
		_, err = n.admin.Deploy(ctx, client.DeployRequest{Manifest: tt.manifest, ManifestFile: "pave.yaml", Digest: digest})
		var apiErr *client.Error
		switch {
		case tt.code == "" && err != nil:
			t.Fatalf("%s: deploy: %v", tt.name, err)
		case tt.code != "" && (!errors.As(err, &apiErr) || apiErr.Code != tt.code):
			t.Fatalf("%s: deploy: %v, want %s", tt.name, err, tt.code)
		}
		// The deploy's registry change may unload the refused module,
		// which no function uses; the deploy itself loads nothing.
		if got := n.d.LoadedModules(); got > loaded+1 {
			t.Fatalf("%s: %d modules loaded after the deploy, want at most %d", tt.name, got, loaded+1)
		}
	}
	fns, err := n.admin.ListFunctions(ctx)
	if err != nil || len(fns) != 1 || fns[0].Name != "counter" {
		t.Fatalf("functions after the deploys: %v %+v", err, fns)
	}
	key := n.key("ci", "counter")
	if r := n.call("GET", "/counter", key, nil); r.status != 200 {
		t.Fatalf("GET /counter = %d %s", r.status, r.body)
	}
}
