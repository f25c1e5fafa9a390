// Package triggers turns events and clock ticks into jobs for the async
// queue: it subscribes every topic trigger of every deployed function to
// its topic, and fires every schedule trigger on its ticks.
//
// Each topic trigger is one durable JetStream consumer of the events
// stream, created after the deploy (or rollback) that declares it and
// starting at that change's time (so it sees every event published after
// it)
// and deleted when no deployed manifest
// declares it any more. An event is checked against the trigger's schema
// (one that fails goes to the dead-letter stream with the reason) and
// submitted as a job whose id is derived from the function, the trigger
// and the event id: an event delivered twice, by a redelivery or by a
// publisher that sent it twice, becomes one job.
//
// A schedule's job id is derived from the function, the trigger and the
// tick, so a tick fired twice (by a daemon that restarted inside the tick,
// or by two daemons sharing a cluster) runs once. The last tick fired is
// kept in a bucket; on start, ticks missed while the daemon was down
// follow the trigger's policy: skip them, or run the latest once.
package triggers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/contract"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/store"
)

// Functions is the view of the registry triggers need.
type Functions interface {
	List() []*registry.Function
	Get(name string) (*registry.Function, bool)
	Blob(ctx context.Context, digest string) ([]byte, error)
}

// Queue takes the jobs triggers make.
type Queue interface {
	Submit(ctx context.Context, s async.Submission) (async.Call, bool, error)
	DeadLetter(ctx context.Context, j *async.Job, f async.Failure, attempts int) error
}

// Headers a triggered function sees besides an event's CloudEvents
// headers.
const (
	// HeaderTrigger says what triggered the call: "topic orders.created"
	// or "schedule */5 * * * *".
	HeaderTrigger = "Pave-Trigger"
	// HeaderTick is the scheduled time of a schedule's tick (RFC 3339).
	HeaderTick = "Pave-Schedule-Tick"
)

// ScheduleState names the bucket of the last tick of every schedule.
const ScheduleState = "pave_schedules"

// Deps are what a Dispatcher is built on.
type Deps struct {
	Events    *store.Stream // the events stream (events.StreamConfig)
	Schedules *store.KV     // the ScheduleState bucket
	Functions Functions
	Queue     Queue
	IDs       async.IDs
	Log       *slog.Logger
	// AckWait is how long an event taken by a daemon that died waits
	// before another delivery; zero means 30 seconds.
	AckWait time.Duration
	// Leads reports whether this daemon fires the schedules for all the
	// daemons sharing the store; nil means it does (one daemon alone).
	Leads func() bool
}

// Dispatcher runs the triggers. Call Changed after every change of the
// functions.
type Dispatcher struct {
	d       Deps
	log     *slog.Logger
	now     func() time.Time
	changed chan struct{}

	mu      sync.Mutex
	schemas map[string]*contract.Schema // by digest
	// topics counts the triggers of each topic, which share an event's
	// allowance of invocations.
	topics map[string]int
}

// New returns a dispatcher.
func New(d Deps) *Dispatcher {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{d: d, log: log, now: time.Now, changed: make(chan struct{}, 1), schemas: map[string]*contract.Schema{}}
}

// Changed tells the dispatcher the functions changed; it never blocks.
func (d *Dispatcher) Changed() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// subscription is one topic trigger's consumer.
type subscription struct {
	stop context.CancelFunc
	done chan struct{}
}

// consumerName is the durable name of a topic trigger's consumer. Durable
// names cannot hold dots, so the topic is hashed; the function's name
// stays readable for operators listing consumers.
func consumerName(function, topic string) string {
	sum := sha256.Sum256([]byte(topic))
	return consumerPrefix + function + "-" + hex.EncodeToString(sum[:6])
}

const consumerPrefix = "trigger-"

// Run runs the triggers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	subs := map[string]*subscription{}
	defer func() {
		for _, s := range subs {
			s.stop()
			<-s.done
		}
	}()
	sched := newScheduler(d)
	first := true
	for {
		d.reconcile(ctx, subs, first)
		sched.reconcile(ctx, d.d.Functions.List())
		first = false
		timer := time.NewTimer(sched.wait(d.now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-d.changed:
		case <-timer.C:
			sched.fire(ctx, d.now())
		}
		timer.Stop()
	}
}

// reconcile starts the consumers of new topic triggers and stops (and
// deletes) those of triggers no function declares. On the first pass it
// also deletes consumers left by triggers removed while the daemon was
// down.
func (d *Dispatcher) reconcile(ctx context.Context, subs map[string]*subscription, first bool) {
	type wanted struct {
		fn    string
		t     manifest.Trigger
		since time.Time
	}
	want := map[string]wanted{}
	for _, f := range d.d.Functions.List() {
		v := f.Current()
		for _, t := range v.Triggers {
			if t.Topic != "" {
				// The registry change that made this version active (a
				// deploy or a rollback) is when the trigger began.
				want[consumerName(f.Name, t.Topic)] = wanted{f.Name, t, f.UpdatedAt}
			}
		}
	}
	topics := map[string]int{}
	for _, w := range want {
		topics[w.t.Topic]++
	}
	d.mu.Lock()
	d.topics = topics
	d.mu.Unlock()
	for name, s := range subs {
		if _, ok := want[name]; !ok {
			s.stop()
			<-s.done
			delete(subs, name)
			d.deleteConsumer(ctx, name)
		}
	}
	if first {
		names, err := d.d.Events.Consumers(ctx)
		if err != nil {
			d.log.Warn("trigger consumers cannot be listed", "err", err)
		}
		for _, name := range names {
			if _, ok := want[name]; !ok && strings.HasPrefix(name, consumerPrefix) {
				d.deleteConsumer(ctx, name)
			}
		}
	}
	for name, w := range want {
		if _, ok := subs[name]; ok {
			continue
		}
		sctx, stop := context.WithCancel(ctx)
		s := &subscription{stop: stop, done: make(chan struct{})}
		subs[name] = s
		go func() {
			defer close(s.done)
			for sctx.Err() == nil {
				err := d.d.Events.Consume(sctx, store.ConsumerConfig{
					Name: name, Subjects: []string{events.SubjectPrefix + w.t.Topic},
					// A new trigger sees the events published since its
					// deploy, even those published before this consumer
					// was made.
					Workers: 4, AckWait: d.d.AckWait, StartTime: w.since,
				}, func(ctx context.Context, del store.Delivery) store.Disposition {
					return d.deliver(ctx, w.fn, del)
				})
				if err != nil && sctx.Err() == nil {
					d.log.Warn("topic trigger consumer stopped; restarting", "function", w.fn, "topic", w.t.Topic, "err", err)
					select {
					case <-sctx.Done():
					case <-time.After(time.Second):
					}
				}
			}
		}()
	}
}

func (d *Dispatcher) deleteConsumer(ctx context.Context, name string) {
	if err := d.d.Events.DeleteConsumer(ctx, name); err != nil {
		d.log.Warn("trigger consumer not deleted", "consumer", name, "err", err)
	}
}

// deliver turns one event into a job for function.
func (d *Dispatcher) deliver(ctx context.Context, function string, del store.Delivery) store.Disposition {
	topic, ok := events.Topic(del.Subject)
	if !ok {
		return store.Done()
	}
	ev, err := events.Decode(del.Message)
	if err != nil {
		d.log.Warn("stored event unreadable: not delivered", "topic", topic, "sequence", del.Sequence, "err", err)
		return store.Done()
	}
	key := manifest.Trigger{Topic: topic}.Key()
	job := async.Submission{
		ID:       d.d.IDs.Derive("event", function, key, ev.Publisher, ev.Source, ev.ID),
		Function: function,
		Route:    "topic " + topic,
		Trigger:  key,
		Event:    ev.ID,
		Caller:   ev.Publisher,
		Depth:    ev.Depth + 1,
		// The functions the event runs share what it carries: each
		// trigger of the topic an even part of it.
		Allowance: limits.Share(ev.Allowance, d.subscribers(topic)),
		Request:   eventRequest(topic, ev),
	}
	if f, ok := d.d.Functions.Get(function); ok {
		if t, ok := f.Current().Trigger(key); ok && t.Schema != nil {
			if fail, err := d.check(ctx, t.Schema, ev); err != nil {
				return store.RetryAfter(time.Second)
			} else if fail != "" {
				return d.deadLetter(ctx, job, fail)
			}
		}
	}
	// A function without the trigger any more is the queue's to refuse
	// (and audit): the job arrived over an edge no manifest declares.
	if _, _, err := d.d.Queue.Submit(ctx, job); err != nil {
		d.log.Warn("event not queued; retrying", "function", function, "topic", topic, "event_id", ev.ID, "err", err)
		return store.RetryAfter(time.Second)
	}
	return store.Done()
}

// subscribers returns the number of triggers of topic.
func (d *Dispatcher) subscribers(topic string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.topics[topic]
}

// eventRequest is how a function sees an event: a POST in the binary mode
// of the CloudEvents HTTP binding.
func eventRequest(topic string, ev events.Event) abi.Request {
	h := []abi.Header{
		{Name: "ce-specversion", Value: "1.0"},
		{Name: "ce-id", Value: ev.ID},
		{Name: "ce-source", Value: ev.Source},
		{Name: "ce-type", Value: ev.Type},
		{Name: "ce-time", Value: ev.Time.UTC().Format(time.RFC3339Nano)},
		{Name: HeaderTrigger, Value: "topic " + topic},
	}
	if ev.Subject != "" {
		h = append(h, abi.Header{Name: "ce-subject", Value: ev.Subject})
	}
	if ev.ContentType != "" {
		h = append(h, abi.Header{Name: "Content-Type", Value: ev.ContentType})
	}
	return abi.Request{Method: "POST", Path: "/", Headers: h, Body: ev.Data, Caller: ev.Publisher}
}

// check validates ev's data against ref; fail says why it does not meet it.
func (d *Dispatcher) check(ctx context.Context, ref *manifest.SchemaRef, ev events.Event) (fail string, err error) {
	sch, err := d.schema(ctx, ref.Digest)
	if err != nil {
		return "", err
	}
	v, err := contract.DecodeStrict(ev.Data, contract.Limits{})
	if err != nil {
		return "the event data is not valid JSON", nil
	}
	if vs := sch.Validate(v, 3); len(vs) > 0 {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = fmt.Sprintf("%s %s", orRoot(v.Pointer), v.Reason)
		}
		return "the event data breaks the trigger's schema: " + strings.Join(parts, "; "), nil
	}
	return "", nil
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (d *Dispatcher) schema(ctx context.Context, digest string) (*contract.Schema, error) {
	d.mu.Lock()
	sch, ok := d.schemas[digest]
	d.mu.Unlock()
	if ok {
		return sch, nil
	}
	text, err := d.d.Functions.Blob(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("trigger schema %s: %w", digest, err)
	}
	sch, err = contract.Compile(digest, text)
	if err != nil {
		return nil, fmt.Errorf("trigger schema %s: %w", digest, err)
	}
	d.mu.Lock()
	d.schemas[digest] = sch
	d.mu.Unlock()
	return sch, nil
}

// deadLetter keeps an event that cannot be delivered, with the reason.
func (d *Dispatcher) deadLetter(ctx context.Context, s async.Submission, reason string) store.Disposition {
	j := &async.Job{
		ID: s.ID, Function: s.Function, Route: s.Route, Trigger: s.Trigger, Event: s.Event, Caller: s.Caller,
		Depth: s.Depth, Submitted: d.now().UTC(), Request: s.Request,
	}
	if err := d.d.Queue.DeadLetter(ctx, j, async.Failure{Code: string(apierror.InvalidEvent), Message: reason}, 0); err != nil {
		if errors.Is(err, context.Canceled) {
			return store.RetryAfter(0)
		}
		return store.RetryAfter(time.Second)
	}
	d.log.Warn("event dead-lettered", "function", s.Function, "route", s.Route, "reason", reason)
	return store.Done()
}
