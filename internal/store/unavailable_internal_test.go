package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestIsOutage(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no responders", fmt.Errorf("get: %w", nats.ErrNoResponders), true},
		{"a 503 from the server", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"placement failed, a server offline", &jetstream.APIError{Code: 500, ErrorCode: errCodeNoPeers, Description: "no suitable peers for placement, peer offline"}, true},
		{"placement failed, too few servers", &jetstream.APIError{Code: 500, ErrorCode: errCodeNoPeers, Description: "no suitable peers for placement"}, false},
		{"not found", jetstream.ErrKeyNotFound, false},
		{"cancelled", context.Canceled, false},
		{"anything else", errors.New("boom"), false},
	} {
		if got := isOutage(tt.err); got != tt.want {
			t.Errorf("%s: isOutage(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
