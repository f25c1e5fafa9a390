package async

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
)

type fakeFunctions map[string]*registry.Function

func (f fakeFunctions) Get(name string) (*registry.Function, bool) { fn, ok := f[name]; return fn, ok }

type fakeSecrets map[string]string

func (s fakeSecrets) CallbackSecret(_ context.Context, name string) ([]byte, error) {
	v, ok := s[name]
	if !ok {
		return nil, errors.New("no such secret")
	}
	return []byte(v), nil
}

func withCallbacks(name string, hosts ...string) *registry.Function {
	return &registry.Function{Name: name, Active: 1, Versions: []registry.Version{{Number: 1,
		Async: manifest.Async{Callbacks: hosts, CallbackSecret: "CB_SECRET"}}}}
}

func loopbackClient() *egress.Client {
	return egress.New(egress.Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowIPGrants: true})
}

// The signature is the HMAC-SHA256 of the time, a full stop and the body,
// and a receiver that recomputes it from the header agrees.
func TestSign(t *testing.T) {
	at := time.Unix(1700000000, 0)
	got := sign([]byte("s3cret"), at, []byte(`{"id":"x"}`))
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte(`1700000000.{"id":"x"}`))
	if want := "t=1700000000,v1=" + hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
}

func TestSenderSendsSignedCallbacksToGrantedHostsOnly(t *testing.T) {
	got := make(chan *http.Request, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	fns := fakeFunctions{"orders": withCallbacks("orders", host), "silent": withCallbacks("silent")}
	s := NewSender(fns, fakeSecrets{"CB_SECRET": "s3cret"}, loopbackClient())
	s.now = func() time.Time { return time.Unix(1700000000, 0) }

	if err := s.CheckCallback(fns["orders"], srv.URL+"/done"); err != nil {
		t.Fatalf("granted host: %v", err)
	}
	if err := s.CheckCallback(fns["orders"], "http://127.0.0.2:1/"); err == nil {
		t.Error("a host not granted is accepted")
	}
	if err := s.CheckCallback(fns["silent"], srv.URL+"/done"); err == nil {
		t.Error("a function without callback grants is accepted")
	}

	call := []byte(`{"id":"abc","state":"succeeded"}`)
	if err := s.Send(context.Background(), "orders", srv.URL+"/done", call); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Method != http.MethodPost || string(body) != string(call) || r.Header.Get(HeaderCallID) != "abc" ||
		r.Header.Get(HeaderSignature) != sign([]byte("s3cret"), s.now(), call) {
		t.Errorf("sent %s with %v: %s", r.Method, r.Header, body)
	}
	if err := s.Send(context.Background(), "gone", srv.URL+"/done", call); err == nil {
		t.Error("a callback of a removed function is sent")
	}
}

func TestSenderWantsA2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	fns := fakeFunctions{"orders": withCallbacks("orders", strings.TrimPrefix(srv.URL, "http://"))}
	s := NewSender(fns, fakeSecrets{"CB_SECRET": "s3cret"}, loopbackClient())
	if err := s.Send(context.Background(), "orders", srv.URL, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("Send to a 500 = %v", err)
	}
	s = NewSender(fns, fakeSecrets{}, loopbackClient())
	if err := s.Send(context.Background(), "orders", srv.URL, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "callback secret") {
		t.Errorf("Send without the secret = %v", err)
	}
}
