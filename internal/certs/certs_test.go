package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/certs/certstest"
)

func commonName(t testing.TB, c *tls.Certificate) string {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.Subject.CommonName
}

// syncBuffer is a log destination the reloads may write to concurrently.
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

// TestReload: a renewed pair is served after the next look at the files; a
// pair that does not load leaves the one in use, logged once; a later good
// pair loads.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c1, k1 := certstest.Pair(t, "one.example")
	certstest.Replace(t, certFile, c1)
	certstest.Replace(t, keyFile, k1)
	var logs syncBuffer
	r, err := Load(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	r.now = func() time.Time { return clock }
	later := func() { clock = clock.Add(checkEvery) }
	if got := commonName(t, r.Certificate()); got != "one.example" {
		t.Fatalf("served %s", got)
	}

	c2, k2 := certstest.Pair(t, "two.example")
	certstest.Replace(t, certFile, c2)
	if got := commonName(t, r.Certificate()); got != "one.example" {
		t.Errorf("within a second of the last look: served %s, want the pair in use", got)
	}
	later()
	if got := commonName(t, r.Certificate()); got != "one.example" {
		t.Errorf("with the new certificate and the old key: served %s, want the pair in use", got)
	}
	later()
	r.Certificate()
	if n := strings.Count(logs.String(), "not reloaded"); n != 1 {
		t.Errorf("the failed reload was logged %d times, want once:\n%s", n, logs.String())
	}
	certstest.Replace(t, keyFile, k2)
	later()
	if got := commonName(t, r.Certificate()); got != "two.example" {
		t.Errorf("after the key too: served %s, want two.example", got)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("the reload was not logged:\n%s", logs.String())
	}

	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	later()
	if got := commonName(t, r.Certificate()); got != "two.example" {
		t.Errorf("with the certificate file gone: served %s, want the pair in use", got)
	}
}

// TestLoadRefusals: Load needs a readable, matching pair.
func TestLoadRefusals(t *testing.T) {
	dir := t.TempDir()
	c1, k1 := certstest.Pair(t, "one.example")
	_, k2 := certstest.Pair(t, "two.example")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		certstest.Replace(t, p, data)
		return p
	}
	cert, key, other := write("c.pem", c1), write("k.pem", k1), write("k2.pem", k2)
	garbage := write("g.pem", []byte("not pem"))
	for _, tt := range []struct {
		name, cert, key, want string
	}{
		{"no certificate file", filepath.Join(dir, "none"), key, "no such file"},
		{"no key file", cert, filepath.Join(dir, "none"), "no such file"},
		{"a key of another certificate", cert, other, "does not match"},
		{"not PEM", garbage, key, "failed to find any PEM data"},
	} {
		_, err := Load(tt.cert, tt.key, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	if _, err := Load(cert, key, nil); err != nil {
		t.Errorf("a good pair: %v", err)
	}
}
