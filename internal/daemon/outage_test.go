package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// natsAt runs a NATS server with JetStream on port (-1: a random one),
// keeping its store in dir, until stopped or the test ends.
func natsAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv
}

// health returns the status and body of the admin listener's /v1/health.
func (n *node) health(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(n.d.AdminURL() + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("/v1/health: %d %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, body
}

// eventually retries check every 50ms until it returns "" or 20s pass.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStoreOutageIsReported stops the NATS server under a running daemon:
// /v1/health answers 503 and names the store, pave_jetstream_connected is
// 0, the admin API answers 503 unavailable with Retry-After, a function's
// KV list fails at once with unavailable. Once the server is back, all of
// it recovers.
func TestStoreOutageIsReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := natsAt(t, -1, dir)
	url := srv.ClientURL()
	port := srv.Addr().(*net.TCPAddr).Port
	n := startWith(t, func(c *config.Config) { c.NATSURL = url })
	n.deploy(capabilitiesManifest(t, "capabilities", "team-a"), testguests.Build(t, "capabilities"))
	key := n.key("ci", "capabilities")
	if r := n.call("POST", "/kv/put?bucket=notes&key=a", key, []byte("1")); r.status != 200 {
		t.Fatalf("kv put: %d %s", r.status, r.body)
	}
	if status, body := n.health(t); status != 200 || body["status"] != "ok" {
		t.Fatalf("health before the outage: %d %v", status, body)
	}
	if v := n.metric(t, "pave_jetstream_connected", ""); v != 1 {
		t.Fatalf("pave_jetstream_connected before the outage = %v", v)
	}

	t.Logf("%s: the store goes down", time.Now().Format(time.StampMilli))
	srv.Shutdown()
	srv.WaitForShutdown()

	eventually(t, "health during the outage", func() string {
		status, body := n.health(t)
		st, _ := body["store"].(map[string]any)
		if status != 503 || body["status"] != "unavailable" || st == nil || st["connected"] != false {
			return "got " + http.StatusText(status) + " " + toJSON(body)
		}
		return ""
	})
	if v := n.metric(t, "pave_jetstream_connected", ""); v != 0 {
		t.Errorf("pave_jetstream_connected during the outage = %v, want 0", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.admin.ListSecrets(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 503 || ce.Code != "unavailable" {
		t.Errorf("admin API during the outage: %v, want 503 unavailable", err)
	}
	req, _ := http.NewRequest("GET", n.d.AdminURL()+"/v1/secrets", nil)
	token, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("admin API's 503 without Retry-After: %v", resp.Header)
		}
	}
	began := time.Now()
	r := n.call("GET", "/kv/list?bucket=notes", key, nil)
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("kv list during the outage took %s", took)
	}
	if r.status != 200 || r.json(t)["error"] != "unavailable" {
		t.Errorf("kv list during the outage: %d %s, want the guest's unavailable", r.status, r.body)
	}

	t.Logf("%s: the store comes back", time.Now().Format(time.StampMilli))
	natsAt(t, port, dir)
	eventually(t, "health after the outage", func() string {
		if status, body := n.health(t); status != 200 || body["status"] != "ok" {
			return "got " + http.StatusText(status) + " " + toJSON(body)
		}
		return ""
	})
	if v := n.metric(t, "pave_jetstream_connected", ""); v != 1 {
		t.Errorf("pave_jetstream_connected after the outage = %v", v)
	}
	if r := n.call("GET", "/kv/list?bucket=notes", key, nil); r.status != 200 || r.json(t)["error"] != nil {
		t.Errorf("kv list after the outage: %d %s", r.status, r.body)
	}
	if _, err := n.admin.ListSecrets(ctx); err != nil {
		t.Errorf("admin API after the outage: %v", err)
	}
	t.Logf("%s: recovered", time.Now().Format(time.StampMilli))
	n.stop() // before the second server's cleanup
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
