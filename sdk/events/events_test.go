package events

import (
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

var allErrors = []error{ErrInvalid, ErrDenied, ErrLimit, ErrUnavailable}

func only(err, want error) bool {
	for _, e := range allErrors {
		if errors.Is(err, e) != (e == want) {
			return false
		}
	}
	return true
}

func TestPublishOutsideWebAssembly(t *testing.T) {
	id, err := Publish("orders.created", []byte(`{}`))
	if id != "" || !only(err, ErrUnavailable) {
		t.Fatalf("Publish = %q, %v; want only %v", id, err, ErrUnavailable)
	}
	if !strings.HasPrefix(err.Error(), `events: publish "orders.created": `) {
		t.Errorf("error %q does not name the call", err)
	}
}

func fakeHost(t *testing.T, host func(topic string, data []byte) ([]byte, error)) {
	t.Helper()
	saved := publish
	publish = func(_ hostcall.Op, topic string, data []byte) ([]byte, error) { return host(topic, data) }
	t.Cleanup(func() { publish = saved })
}

func TestPublishPassesTopicAndData(t *testing.T) {
	var gotTopic, gotData string
	fakeHost(t, func(topic string, data []byte) ([]byte, error) {
		gotTopic, gotData = topic, string(data)
		return []byte("ev-1"), nil
	})
	id, err := Publish("orders.created", []byte(`{"id":7}`))
	if err != nil || id != "ev-1" || gotTopic != "orders.created" || gotData != `{"id":7}` {
		t.Errorf("Publish = %q, %v; host got %q %q", id, err, gotTopic, gotData)
	}
}

func TestPublishRefusesBeforeTheHost(t *testing.T) {
	fakeHost(t, func(string, []byte) ([]byte, error) {
		t.Fatal("the host was called")
		return nil, nil
	})
	if _, err := Publish("", nil); !only(err, ErrInvalid) {
		t.Errorf("empty topic: %v", err)
	}
	if _, err := Publish(strings.Repeat("t", hostcall.MaxName+1), nil); !only(err, ErrInvalid) {
		t.Errorf("long topic: %v", err)
	}
	if _, err := Publish("big", make([]byte, abi.MaxEventData+1)); !only(err, ErrLimit) {
		t.Errorf("data over the limit: %v", err)
	}
}

func TestPublishHostErrors(t *testing.T) {
	for code, want := range map[int32]error{
		abi.ErrCodeInvalid: ErrInvalid, abi.ErrCodeDenied: ErrDenied,
		abi.ErrCodeLimit: ErrLimit, abi.ErrCodeUnavailable: ErrUnavailable,
		abi.ErrCodeNotFound: ErrUnavailable,
	} {
		fakeHost(t, func(string, []byte) ([]byte, error) {
			return nil, hostcall.Fail(hostcall.Op{Call: "events: publish"}, kinds, code, "")
		})
		if _, err := Publish("orders.created", nil); !only(err, want) {
			t.Errorf("code %d: error %v, want only %v", code, err, want)
		}
	}
}
