package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/certs"
	"github.com/pave-dev/pave/internal/certs/certstest"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/testguests"
)

// TestTLSListeners: with --tls-cert and --tls-key, the gateway and the admin
// API serve HTTPS with HTTP/2 and nothing in plain HTTP; a renewed
// certificate is served without a restart; the console's session cookie is
// marked Secure.
func TestTLSListeners(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := certstest.Files(t, dir, "first")
	n := startWith(t, func(c *config.Config) {
		c.GatewayTLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
		c.AdminTLS = c.GatewayTLS
	})
	for _, u := range []string{n.d.GatewayURL(), n.d.AdminURL()} {
		if !strings.HasPrefix(u, "https://") {
			t.Fatalf("listener URL %s, want https", u)
		}
	}
	// A client that trusts the certificate file, whatever it holds now.
	trusting := func() *http.Client {
		tc, err := certs.ClientConfig(certFile)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	}
	token, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	n.admin = client.New(n.d.AdminURL(), strings.TrimSpace(string(token)), client.WithHTTPClient(trusting()))
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("tls", "hello")

	get := func(hc *http.Client, url, key string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get(trusting(), n.d.GatewayURL()+"/hello?name=TLS", key)
	if resp.StatusCode != 200 || body != "Hello, TLS!\n" || resp.ProtoMajor != 2 {
		t.Errorf("gateway over HTTPS: %d %s %q, want 200 over HTTP/2", resp.StatusCode, resp.Proto, body)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("gateway: TLS state %+v", resp.TLS)
	}
	plain := strings.Replace(n.d.GatewayURL(), "https://", "http://", 1)
	if resp, _ := get(http.DefaultClient, plain+"/hello", key); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS gateway: %d, want 400", resp.StatusCode)
	}
	if _, err := http.Get(n.d.GatewayURL() + "/hello"); err == nil {
		t.Error("a client that does not trust the certificate was served")
	}

	// The console's cookies over TLS: the sign-in form sets one.
	noRedirect := trusting()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	login, err := noRedirect.Get(n.d.AdminURL() + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	if len(login.Cookies()) == 0 {
		t.Error("the console's sign-in form set no cookie")
	}
	for _, c := range login.Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("console cookie over TLS: %v, want Secure and HttpOnly", c)
		}
	}

	// Renewal: new files are served on new connections within seconds.
	first, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	firstFile := filepath.Join(dir, "first.crt")
	certstest.Replace(t, firstFile, first)
	certstest.Files(t, dir, "renewed")
	either, err := certs.ClientConfig(firstFile, certFile)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: either, ForceAttemptHTTP2: true}}
		resp, _ := get(hc, n.d.GatewayURL()+"/hello", key)
		if cn := peerName(resp.TLS.PeerCertificates); cn == "renewed" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after renewal the gateway serves %q, want renewed", cn)
		}
		time.Sleep(200 * time.Millisecond)
	}
	renewed := client.New(n.d.AdminURL(), strings.TrimSpace(string(token)),
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: either, ForceAttemptHTTP2: true}}))
	if _, err := renewed.ListFunctions(context.Background()); err != nil {
		t.Errorf("the admin API after renewal: %v", err)
	}
}

func peerName(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return ""
	}
	return chain[0].Subject.CommonName
}
