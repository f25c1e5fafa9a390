package egress

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	t.Cleanup(srv.Close)
	P := itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	res := &fakeResolver{names: map[string][]string{
		// The test certificate is for example.com and 127.0.0.1.
		"example.com": {"127.0.0.1"},
		"wrong.test":  {"127.0.0.1"},
	}}
	policy := Policy{Resolver: res, AllowedNets: []netip.Prefix{loopback4}}
	g := grants(t, "example.com:"+P, "wrong.test:"+P)
	trusted := func() *Client {
		c := New(policy)
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		c.transport.TLSClientConfig.RootCAs = pool
		return c
	}

	c := New(policy)
	if cfg := c.transport.TLSClientConfig; cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Fatalf("TLS configuration %+v", cfg)
	}
	// The system roots do not hold the test certificate's issuer.
	_, err := c.Session(g).Do(ctxT(t), Request{URL: "https://example.com:" + P + "/"})
	wantErr(t, err, ErrUpstream)

	resp, err := trusted().Session(g).Do(ctxT(t), Request{URL: "https://example.com:" + P + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d", resp.Status)
	}

	// The certificate is checked against the URL's name.
	_, err = trusted().Session(g).Do(ctxT(t), Request{URL: "https://wrong.test:" + P + "/"})
	wantErr(t, err, ErrUpstream)

	// A server that speaks nothing newer than TLS 1.1 is refused.
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	old.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	old.StartTLS()
	t.Cleanup(old.Close)
	OP := itoa(old.Listener.Addr().(*net.TCPAddr).Port)
	c = New(policy)
	pool := x509.NewCertPool()
	pool.AddCert(old.Certificate())
	c.transport.TLSClientConfig.RootCAs = pool
	_, err = c.Session(grants(t, "example.com:"+OP)).Do(ctxT(t), Request{URL: "https://example.com:" + OP + "/"})
	wantErr(t, err, ErrUpstream)
	if err.Error() != "egress: TLS handshake failed" {
		t.Errorf("error %q", err)
	}
}
