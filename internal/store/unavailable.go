package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable means the store could not be reached: the connection to
// NATS is down, JetStream does not answer, or no server holds the stream
// the data is in. It is retryable: the same call may succeed once the
// store is back. Every error that wraps it reports Unavailable() true, which
// is how package apierror answers it as 503 unavailable without knowing
// this package.
var ErrUnavailable error = unavailableError{}

type unavailableError struct{}

func (unavailableError) Error() string { return "store unavailable" }

// Unavailable marks the error as a store outage for package apierror.
func (unavailableError) Unavailable() bool { return true }

// outage lists the errors of nats.go that mean the store is unreachable
// rather than that the request was wrong.
var outage = []error{
	nats.ErrNoResponders, nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrConnectionReconnecting,
	nats.ErrDisconnected, nats.ErrConnectionDraining, nats.ErrNoServers,
	jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrJetStreamNotEnabledForAccount,
	jetstream.ErrConnectionClosed, jetstream.ErrNoHeartbeat, jetstream.ErrConsumerLeadershipChanged,
	jetstream.ErrAsyncPublishTimeout,
	context.DeadlineExceeded,
}

// isOutage reports whether err means the store could not be reached: one
// of outage, or a JetStream API error with status 503.
func isOutage(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	for _, o := range outage {
		if errors.Is(err, o) {
			return true
		}
	}
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	// A placement that failed because a server is offline (not because
	// the cluster is too small for the replicas): on a cluster that has
	// just formed, or while one of its servers is down.
	placement := api.ErrorCode == errCodeNoPeers && strings.Contains(api.Description, "peer offline")
	return api.Code == 503 || placement
}

// unavailable wraps err in ErrUnavailable when it is an outage, and
// returns it unchanged otherwise.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !isOutage(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// StartWait bounds how long Open, and the opening of buckets and streams
// within that long of it, wait for JetStream: a cluster that has just
// formed answers "no responders" until it has elected its leaders.
const StartWait = time.Minute

// await calls fn until it succeeds, fails with something other than an
// outage, or ctx ends; it retries outages only until n.startBy. Every
// retry is logged.
func (n *NATS) await(ctx context.Context, what string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !isOutage(err) || time.Now().After(n.startBy) || ctx.Err() != nil {
			if err != nil && attempt > 1 {
				n.log.Warn("gave up waiting for jetstream", "for", what, "attempts", attempt, "err", err)
			}
			return err
		}
		wait := min(time.Duration(attempt)*100*time.Millisecond, time.Second)
		n.log.Info("waiting for jetstream", "for", what, "attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}
