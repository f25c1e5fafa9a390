package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Environment variables of the async settings.
const (
	EnvAsyncWorkers = "PAVE_ASYNC_WORKERS"
	EnvAsyncAckWait = "PAVE_ASYNC_ACK_WAIT"
)

// Async configures the worker that runs asynchronous calls, event
// deliveries and schedules.
type Async struct {
	// Workers is how many jobs run at once on this node.
	Workers int
	// AckWait is how long a job or an event taken by a node that died
	// waits before it is delivered again. Shorter recovers sooner after a
	// crash; a running job is kept alive however long it takes.
	AckWait time.Duration
}

// Async defaults.
const (
	DefaultAsyncWorkers = 8
	DefaultAsyncAckWait = 30 * time.Second
)

// DefaultAsync returns the async defaults.
func DefaultAsync() Async {
	return Async{Workers: DefaultAsyncWorkers, AckWait: DefaultAsyncAckWait}
}

// asyncFlags registers the async flags on fs; the returned function
// finishes parsing after fs.Parse.
func (c *Config) asyncFlags(fs *flag.FlagSet, getenv func(string) string) func() error {
	a := &c.Async
	workers := envOr(getenv, EnvAsyncWorkers, strconv.Itoa(a.Workers))
	fs.Func("async-workers", "how many asynchronous calls, events and scheduled runs run at once ("+EnvAsyncWorkers+", default "+workers+")", func(s string) error {
		workers = s
		return nil
	})
	ackWait := envOr(getenv, EnvAsyncAckWait, a.AckWait.String())
	fs.Func("async-ack-wait", "how long a job taken by a node that died waits before it is run again ("+EnvAsyncAckWait+", default "+ackWait+")", func(s string) error {
		ackWait = s
		return nil
	})
	return func() error {
		n, err := strconv.Atoi(workers)
		if err != nil {
			return fmt.Errorf("--async-workers %q: want a whole number", workers)
		}
		d, err := time.ParseDuration(ackWait)
		if err != nil {
			return fmt.Errorf("--async-ack-wait %q: %v", ackWait, err)
		}
		a.Workers, a.AckWait = n, d
		return nil
	}
}

func (a Async) validate() []error {
	var errs []error
	if a.Workers < 1 || a.Workers > 1024 {
		errs = append(errs, fmt.Errorf("--async-workers %d: want 1 to 1024", a.Workers))
	}
	if a.AckWait < time.Second || a.AckWait > time.Hour {
		errs = append(errs, fmt.Errorf("--async-ack-wait %s: want 1s to 1h", a.AckWait))
	}
	return errs
}
