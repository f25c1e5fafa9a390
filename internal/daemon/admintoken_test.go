package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/cli"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/identity"
)

// TestAdminTokenRotatesWithoutDowntime: `pave admin rotate-token` through
// one of two daemons sharing a store gives a new token that both accept,
// while the old one keeps working on both for the grace period; a rotation
// without grace ends the token it replaces on both. Each is audited.
func TestAdminTokenRotatesWithoutDowntime(t *testing.T) {
	srv := startNATS(t)
	external := func(c *config.Config) { c.NATSURL = srv.ClientURL() }
	a := startWith(t, external)
	b := startWith(t, external)
	old := strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile())))

	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == config.EnvDataDir {
			return a.cfg.DataDir
		}
		return ""
	}
	if code := cli.Main([]string{"admin", "rotate-token", "--grace", "1h"}, nil, &stdout, &stderr, getenv); code != 0 {
		t.Fatalf("pave admin rotate-token: exit %d: %s", code, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(token, identity.AdminPrefix) {
		t.Fatalf("printed %q, want a new admin token", token)
	}
	if token == old {
		t.Fatal("the rotation printed the old token")
	}
	if !strings.Contains(stderr.String(), "works until") {
		t.Errorf("stderr does not say until when the old token works: %s", stderr.String())
	}
	if got := strings.TrimSpace(string(mustRead(t, a.cfg.AdminTokenFile()))); got != token {
		t.Error("the rotating daemon's token file does not hold the new token")
	}

	// status calls an admin endpoint of n with token.
	status := func(n *node, token string) int {
		t.Helper()
		req, err := http.NewRequest("GET", n.d.AdminURL()+"/v1/functions", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// awaitStatus waits for the other node to learn of the change.
	awaitStatus := func(n *node, token string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := status(n, token)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: token answered %d, want %d", n.d.AdminURL(), got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	awaitStatus(b, token, http.StatusOK)
	for _, n := range []*node{a, b} {
		if got := status(n, old); got != http.StatusOK {
			t.Errorf("within the grace period the old token answered %d", got)
		}
	}

	// A rotation without grace, through the other node.
	r, err := client.New(b.d.AdminURL(), token).RotateAdminToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.PreviousValidUntil.IsZero() {
		t.Errorf("a rotation without grace: the previous token works until %s", r.PreviousValidUntil)
	}
	awaitStatus(a, r.Token, http.StatusOK)
	for _, n := range []*node{a, b} {
		for _, tok := range []string{old, token} {
			if got := status(n, tok); got != http.StatusUnauthorized {
				t.Errorf("a replaced token answered %d, want 401", got)
			}
		}
	}
	_, err = client.New(a.d.AdminURL(), r.Token).RotateAdminToken(context.Background(), 200*time.Hour)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("a grace of 200h: %v, want 400", err)
	}
	var rotations int
	err = client.New(a.d.AdminURL(), r.Token).AuditEvents(context.Background(), "", func(e client.AuditEvent) error {
		if e.Action == audit.ActionAdminTokenRotate && e.Outcome == "ok" {
			rotations++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rotations != 2 {
		t.Errorf("%d rotations audited, want 2", rotations)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
