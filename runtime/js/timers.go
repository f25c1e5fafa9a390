package main

import (
	"slices"
	"time"

	"github.com/dop251/goja"

	pave "github.com/pave-dev/pave/sdk"
)

// Timers. setTimeout and setInterval queue a callback; when what fetch
// returned is still pending once the promise jobs have run, the engine
// sleeps until the earliest timer is due, runs it, and looks again. The
// sleep is the host's, so it ends with the call's deadline like any other
// (a function that waits past its timeout is stopped and answered 504).
// Timers still queued when the response is ready are dropped with the
// call, as the snapshot's restore drops everything else: nothing a call
// queued runs in another. An exception in a callback is logged, as a
// browser reports it, and the call goes on.

// maxTimers bounds the timers queued at once.
const maxTimers = 10_000

// A timer is one queued callback.
type timer struct {
	id       int64
	due      time.Time
	interval time.Duration // 0 for setTimeout
	fn       goja.Callable
	args     []goja.Value
}

// timers are the queued timers of the call in progress.
type timers struct {
	queue []*timer
	last  int64 // the last id given
}

// defineTimers defines setTimeout, setInterval and their clear functions.
func (e *engine) defineTimers() {
	vm := e.vm
	add := func(repeat bool) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(c.Argument(0))
			if !ok {
				panic(vm.NewTypeError("setTimeout: the callback is not a function"))
			}
			if len(e.timers.queue) >= maxTimers {
				panic(vm.NewTypeError("setTimeout: more than 10000 timers queued"))
			}
			delay := time.Duration(max(0, c.Argument(1).ToFloat()) * float64(time.Millisecond))
			if delay < 0 || delay > 24*time.Hour { // NaN and overflow included
				delay = 0
			}
			e.timers.last++
			t := &timer{id: e.timers.last, due: time.Now().Add(delay), fn: fn}
			if len(c.Arguments) > 2 {
				t.args = slices.Clone(c.Arguments[2:])
			}
			if repeat {
				t.interval = max(delay, time.Millisecond)
			}
			e.timers.queue = append(e.timers.queue, t)
			return vm.ToValue(t.id)
		}
	}
	clearTimer := func(c goja.FunctionCall) goja.Value {
		id := c.Argument(0).ToInteger()
		e.timers.queue = slices.DeleteFunc(e.timers.queue, func(t *timer) bool { return t.id == id })
		return goja.Undefined()
	}
	e.defineGlobal("setTimeout", add(false))
	e.defineGlobal("setInterval", add(true))
	e.defineGlobal("clearTimeout", clearTimer)
	e.defineGlobal("clearInterval", clearTimer)
}

// runTimers runs due timers, earliest first, until p settles or no timer
// is left.
func (e *engine) runTimers(p *goja.Promise) {
	for p.State() == goja.PromiseStatePending && len(e.timers.queue) > 0 {
		i := 0
		for j, t := range e.timers.queue {
			if t.due.Before(e.timers.queue[i].due) {
				i = j
			}
		}
		t := e.timers.queue[i]
		if d := time.Until(t.due); d > 0 {
			time.Sleep(d)
		}
		if t.interval > 0 {
			t.due = t.due.Add(t.interval)
		} else {
			e.timers.queue = slices.Delete(e.timers.queue, i, i+1)
		}
		if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
			logLine(pave.LevelError, "uncaught in a timer: "+describe(err).Error())
		}
	}
}

// resetTimers drops the timers a call left queued.
func (e *engine) resetTimers() { e.timers.queue = e.timers.queue[:0] }
