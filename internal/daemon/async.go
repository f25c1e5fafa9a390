package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/store"
	"github.com/pave-dev/pave/internal/triggers"
)

// settingIDKey is the key, in the settings bucket, of the key call ids are
// derived with. It lives in the store rather than in a file so that every
// node of a cluster derives the same id from the same idempotency key.
const settingIDKey = "async.id_key"

// openAsync opens the queue of asynchronous calls and the triggers'
// dispatcher; the caller sets the queue's runner and starts their loops.
func (d *Daemon) openAsync(ctx context.Context, settings *store.KV, reg *registry.Registry, vault *secretVault, client *egress.Client) (*async.Queue, *triggers.Dispatcher, *async.Sender, error) {
	jobs, err := d.nats.Stream(ctx, async.JobsConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	dead, err := d.nats.Stream(ctx, async.DeadConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	calls, err := d.nats.ExpiringKV(ctx, async.CallsBucket, async.CallRetention)
	if err != nil {
		return nil, nil, nil, err
	}
	retries, err := d.nats.ExpiringKV(ctx, async.RetriesBucket, async.CallRetention)
	if err != nil {
		return nil, nil, nil, err
	}
	schedules, err := d.nats.KV(ctx, triggers.ScheduleState)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := idKey(ctx, settings)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("async id key: %w", err)
	}
	ids := async.NewIDs(key)
	cbs := async.NewSender(reg, vault, client)
	var deadLettered atomic.Int64
	q := async.New(async.Deps{
		Jobs: jobs, Dead: dead, Calls: calls, Retries: retries, IDs: ids, Log: d.log,
		Policies: retryPolicies{reg}, Callbacks: cbs,
		OnDead: func(j *async.Job, f async.Failure) {
			deadLettered.Add(1)
			d.audit.enqueue(audit.NewEvent(audit.ActorSystem, "async.dead_lettered", audit.Ref("function", j.Function)).
				Deny(f.Code).With("call_id", j.ID).With("route", j.Route).With("caller", j.Caller))
		},
	}, async.Config{Workers: d.cfg.Async.Workers, AckWait: d.cfg.Async.AckWait})
	d.metrics.CounterFunc("pave_async_dead_lettered_total", "Asynchronous calls and trigger jobs given up after their retries, since the daemon started.",
		func() float64 { return float64(deadLettered.Load()) })
	d.metrics.CounterFunc("pave_async_overdue_requeued_total", "Retries of asynchronous calls the store did not deliver in time, queued again by this node's sweep, since the daemon started.",
		func() float64 { return float64(q.Requeued()) })
	d.metrics.GaugeFunc("pave_async_pending", "Jobs queued or running on the async worker, across the cluster.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := jobs.Pending(ctx, async.WorkerName)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	disp := triggers.New(triggers.Deps{
		Events: d.eventStream, Schedules: schedules, Functions: reg, Queue: q, IDs: ids, Log: d.log,
		AckWait: d.cfg.Async.AckWait, Leads: d.leads.Load,
	})
	return q, disp, cbs, nil
}

// idKey reads the id key, making it on first use. Two nodes starting at
// once agree: the second's create fails and it reads the first's.
func idKey(ctx context.Context, settings *store.KV) ([]byte, error) {
	for range 2 {
		e, err := settings.Get(ctx, settingIDKey)
		if err == nil {
			return hex.DecodeString(string(e.Value))
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		var k [32]byte
		_, _ = rand.Read(k[:])
		if _, err := settings.Create(ctx, settingIDKey, []byte(hex.EncodeToString(k[:]))); err == nil {
			return k[:], nil
		} else if !errors.Is(err, store.ErrExists) {
			return nil, err
		}
	}
	return nil, errors.New("the id key changed while it was read")
}

// retryPolicies reads functions' retry policies from their manifests.
type retryPolicies struct{ reg *registry.Registry }

func (p retryPolicies) RetryPolicy(function string) (async.Policy, bool) {
	f, ok := p.reg.Get(function)
	if !ok {
		return async.Policy{}, false
	}
	a := f.Current().Async
	if a.Backoff == 0 {
		// A version deployed before async settings existed.
		a = manifest.DefaultAsync()
	}
	return async.Policy{Retries: a.Retries, Backoff: a.Backoff}, true
}

// runLoop runs fn until ctx ends, starting it again a second after it
// fails: a lost connection to an external NATS server must not stop
// asynchronous work for good.
func (d *Daemon) runLoop(ctx context.Context, name string, fn func(context.Context) error) {
	for ctx.Err() == nil {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn(name+" stopped; restarting", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
