package capability

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/hostapi"
	"github.com/pave-dev/pave/internal/manifest"
)

// fakeInvoker records the calls it is asked to make.
type fakeInvoker struct {
	from     Origin
	function string
	req      *abi.Request
	deployed map[string]bool
}

func (f *fakeInvoker) InvokeFunction(_ context.Context, from Origin, function string, req *abi.Request) (*abi.Response, error) {
	if !f.deployed[function] {
		return nil, ErrFunctionNotFound
	}
	f.from, f.function, f.req = from, function, req
	return &abi.Response{Status: 200, Body: []byte("done")}, nil
}

type fakePublisher struct {
	topic string
	ev    events.Event
	err   error
}

func (f *fakePublisher) Publish(_ context.Context, topic string, ev events.Event) (string, error) {
	f.topic, f.ev = topic, ev
	return "ev-1", f.err
}

func TestInvoke(t *testing.T) {
	b, _, logs := newTestBroker(t)
	inv := &fakeInvoker{deployed: map[string]bool{"billing": true}}
	b.SetInvoker(inv)
	ctx := context.Background()
	s := b.Session(Invocation{Function: "orders", Owner: "team-a", RequestID: "req-1", Caller: "key:ci", Depth: 3},
		manifest.Capabilities{Invoke: []string{"billing", "gone"}})

	resp, err := s.Invoke(ctx, "billing", &abi.Outbound{URL: "/charge?dry=1", Body: []byte("x")})
	if err != nil || resp.Status != 200 {
		t.Fatalf("granted call = %+v, %v", resp, err)
	}
	if want := (Origin{Function: "orders", Caller: "key:ci", RequestID: "req-1", Depth: 4}); inv.from != want {
		t.Errorf("origin %+v, want %+v", inv.from, want)
	}
	if r := inv.req; r.Method != "POST" || r.Path != "/charge" || r.RawQuery != "dry=1" || string(r.Body) != "x" || r.Caller != "" || r.RequestID != "" {
		t.Errorf("callee request %+v: the method defaults to POST, the host fields are the invoker's to set", r)
	}

	if _, err := s.Invoke(ctx, "payroll", &abi.Outbound{URL: "/"}); !errors.Is(err, hostapi.ErrDenied) {
		t.Errorf("ungranted function: %v", err)
	}
	if !strings.Contains(logs.String(), `"capability":"invoke","resource":"function \"payroll\""`) {
		t.Errorf("the denial is not audited: %s", logs)
	}
	if _, err := s.Invoke(ctx, "gone", &abi.Outbound{URL: "/"}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("granted, not deployed: %v", err)
	}
	for _, url := range []string{"", "charge", "https://billing/", "/a#frag", "/a?b#c", "/nul\x00"} {
		if _, err := s.Invoke(ctx, "billing", &abi.Outbound{URL: url}); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("URL %q: %v, want invalid", url, err)
		}
	}
	u := b.Uses()["orders"]["invoke"]
	if u.Calls != 3 || u.Denials != 1 {
		t.Errorf("uses = %+v, want 3 calls (granted ones included) and 1 denial", u)
	}
}

func TestInvokeWithoutInvoker(t *testing.T) {
	b, _, _ := newTestBroker(t)
	s := b.Session(Invocation{Function: "orders"}, manifest.Capabilities{Invoke: []string{"billing"}})
	_, err := s.Invoke(context.Background(), "billing", &abi.Outbound{URL: "/"})
	if err == nil || errors.Is(err, hostapi.ErrDenied) || errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("no invoker: %v, want an unavailable error", err)
	}
}

func TestPublish(t *testing.T) {
	pub := &fakePublisher{}
	b, _, logs := newTestBroker(t, func(d *Deps) { d.Publisher = pub })
	ctx := context.Background()
	s := b.Session(Invocation{Function: "orders", Owner: "team-a", RequestID: "req-1"},
		manifest.Capabilities{Publish: []string{"orders.created"}})

	id, err := s.Publish(ctx, "orders.created", []byte(`{"id":7}`))
	if err != nil || id != "ev-1" {
		t.Fatalf("granted topic = %q, %v", id, err)
	}
	if pub.topic != "orders.created" || pub.ev.Source != "/functions/orders" || string(pub.ev.Data) != `{"id":7}` || pub.ev.ID != "" {
		t.Errorf("published %q %+v", pub.topic, pub.ev)
	}
	for _, topic := range []string{"orders.deleted", "orders", "orders.created.x", ""} {
		if _, err := s.Publish(ctx, topic, nil); !errors.Is(err, hostapi.ErrDenied) {
			t.Errorf("topic %q: %v, want denied", topic, err)
		}
	}
	if n := strings.Count(logs.String(), `"capability":"publish"`); n != 4 {
		t.Errorf("%d denials audited, want 4", n)
	}
	if _, err := s.Publish(ctx, "orders.created", make([]byte, abi.MaxEventData+1)); !errors.Is(err, hostapi.ErrLimit) {
		t.Errorf("data over the limit: %v", err)
	}
	pub.err = errors.New("stream unavailable")
	if _, err := s.Publish(ctx, "orders.created", nil); err == nil || errors.Is(err, hostapi.ErrDenied) {
		t.Errorf("failing store: %v", err)
	}
}
