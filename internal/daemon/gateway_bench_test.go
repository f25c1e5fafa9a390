package daemon_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-dev/pave/internal/bench"
	"github.com/pave-dev/pave/internal/testguests"
)

// BenchmarkGateway measures the gateway's own cost on the snapshot path:
// the daemon's gateway handler called in-process, without a connection,
// for examples/hello on the targets of pave bench (GET with an API key,
// and POST with a JSON body behind an API key, or behind a JWT, a JSON
// Schema and a rate limit), next to a bare handler writing the same bytes
// through the same driver. The daemon logs as pave serve does, one JSON
// line per invocation (discarded), and keeps every record and metric; it
// holds one stored secret, as a daemon in use does, so that every line and
// response goes through redaction.
//
// Besides the time and allocations per call it reports cpu-ns/op, the
// process's CPU time (user and system, background work included) per
// call: on a shared machine the wall time per call varies with the other
// load, the CPU time much less.
//
// It reports; it asserts nothing but that each call succeeds. Profile one
// target with, for example:
//
//	go test -run='^$' -bench='Gateway/hello' -benchmem -cpuprofile=/tmp/cpu.out ./internal/daemon/
func BenchmarkGateway(b *testing.B) {
	signing, issuer, trust := testIssuer(b)
	n := startLogged(b, trust, slog.NewJSONHandler(io.Discard, nil))
	if _, err := n.admin.SetSecret(b.Context(), "BENCH_SECRET", []byte("bench-secret-value-"+strconv.Itoa(os.Getpid()))); err != nil {
		b.Fatal(err)
	}
	hello := testguests.Example(b, "hello")
	n.deploy(`name: hello
owner: bench
routes:
  - method: GET
    path: /hello
rate_limit:
  function: {rate: 1000000/s, burst: 1000000}
  caller: {rate: 1000000/s, burst: 1000000}
limits:
  concurrency: 64
`, hello)
	n.deploy(bench.ChecksManifest("checks", 64), hello)
	helloKey, checksKey := n.key("hello", "hello"), n.key("checks", "checks")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: signing}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	if err != nil {
		b.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: issuer, Subject: "bench", Audience: jwt.Audience{"pave"},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now())}).
		Claims(map[string]any{"scope": "bench"}).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	const body = "Hello, world!\n"
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, body)
	})
	gw := n.d.GatewayHandler()
	for _, tt := range []struct {
		name         string
		h            http.Handler
		method, path string
		credential   string
		json         bool
	}{
		{"bare", bare, "GET", "/hello", "", false},
		{"hello", gw, "GET", "/hello", helloKey, false},
		{"post-key", gw, "POST", "/key/checks", checksKey, true},
		{"post-checks", gw, "POST", "/checked/checks", token, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			defer func() {
				if used := processCPU() - cpu; used > 0 {
					b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			}()
			b.RunParallel(func(pb *testing.PB) {
				r := &http.Request{
					Method: tt.method, URL: &url.URL{Path: tt.path}, RequestURI: tt.path, Host: "127.0.0.1",
					Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, RemoteAddr: "127.0.0.1:40000",
				}
				r = r.WithContext(b.Context())
				if tt.credential != "" {
					r.Header.Set("Authorization", "Bearer "+tt.credential)
				}
				var in bytes.Reader
				if tt.json {
					r.Header.Set("Content-Type", "application/json")
					r.ContentLength = int64(len(bench.CheckedBody))
				}
				w := &benchWriter{h: http.Header{}}
				for pb.Next() {
					if tt.json {
						in.Reset([]byte(bench.CheckedBody))
						r.Body = io.NopCloser(&in)
					} else {
						r.Body = http.NoBody
					}
					w.reset()
					tt.h.ServeHTTP(w, r)
					if w.status != http.StatusOK || w.body.String() != body {
						b.Fatalf("%s %s: %d %s", tt.method, tt.path, w.status, w.body.Bytes())
					}
				}
			})
		})
	}
}

// benchWriter is a ResponseWriter that keeps the status and the body, and
// is reused from call to call.
type benchWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body.Reset()
}
