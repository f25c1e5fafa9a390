// Command jobs is a test guest for asynchronous calls, topic triggers and
// schedules. Every run adds one to a counter in the kv bucket "runs", under
// a key naming the work, so that host tests can tell how often each piece
// of work ran:
//
//	work.ID     POST /work?id=ID, synchronous or through /async
//	event.ID    a delivery of the event with ce-id ID
//	tick.UNIX   the schedule tick at UNIX seconds
//
// Beside the counter, "callid.KEY" holds the Pave-Call-Id of the last run,
// so that a test can find the call record of an event's delivery.
// GET /count?key=KEY answers the counter and the call id without counting.
//
// POST /work also takes ?fail=always (answer 500) or ?fail=trap (panic),
// and ?ms=N (sleep N milliseconds first). An event whose data is
// {"poison": true} traps; one whose data is {"echo": true} is published
// again on its own topic, which makes a loop the host must stop; one whose
// data is {"fan": true} is published twice, a tree that doubles at each
// level, until the host refuses to publish more (the run still answers
// 200, so that it is not retried).
//
// The answer is JSON: the key, its count, and what the host told the run
// (trigger, caller, depth, CloudEvents type and source, the body).
package main

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/events"
	"github.com/pave-dev/pave/sdk/kv"
)

var runs = kv.Open("runs")

// count adds one to key's counter.
func count(key string) (int, error) {
	for {
		v, rev, err := runs.Get(key)
		n := 0
		switch {
		case errors.Is(err, kv.ErrNotFound):
			rev = 0
		case err != nil:
			return 0, err
		default:
			n, _ = strconv.Atoi(string(v))
		}
		n++
		if _, err := runs.CAS(key, []byte(strconv.Itoa(n)), rev); err == nil {
			return n, nil
		} else if !errors.Is(err, kv.ErrConflict) {
			return 0, err
		}
	}
}

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		q := r.Query()
		if r.Method == "GET" && r.Path == "/count" {
			// A key never counted is 0; a read that fails is an error,
			// never taken for 0.
			n, _, err := runs.Get(q.Get("key"))
			if err != nil && !errors.Is(err, kv.ErrNotFound) {
				return nil, err
			}
			id, _, err := runs.Get("callid." + q.Get("key"))
			if err != nil && !errors.Is(err, kv.ErrNotFound) {
				return nil, err
			}
			return pave.JSON(200, map[string]any{"count": string(n), "call_id": string(id)}), nil
		}
		trigger := r.Header.Get("Pave-Trigger")
		var key string
		ev, isEvent := events.Received(r)
		tick, isTick := r.ScheduledAt()
		switch {
		case isEvent:
			key = "event." + ev.ID
		case isTick:
			key = "tick." + strconv.FormatInt(tick.Unix(), 10)
		case r.Path == "/work":
			key = "work." + q.Get("id")
		default:
			return pave.Text(404, "no such work\n"), nil
		}
		if ms, err := strconv.Atoi(q.Get("ms")); err == nil && ms > 0 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		n, err := count(key)
		if err != nil {
			return pave.Text(500, "count: "+err.Error()+"\n"), nil
		}
		if id := r.CallID(); id != "" {
			if _, err := runs.Put("callid."+key, []byte(id)); err != nil {
				return pave.Text(500, "record the call id: "+err.Error()+"\n"), nil
			}
		}
		switch {
		case q.Get("fail") == "trap", bytes.Contains(r.Body, []byte(`"poison"`)):
			panic("asked to trap")
		case q.Get("fail") == "always":
			return pave.Text(500, "asked to fail\n"), nil
		case isEvent && bytes.Contains(r.Body, []byte(`"fan"`)):
			for range 2 {
				if _, err := events.Publish(ev.Topic, r.Body); errors.Is(err, events.ErrLimit) {
					break
				} else if err != nil {
					return pave.Text(500, "publish: "+err.Error()+"\n"), nil
				}
			}
		case isEvent && bytes.Contains(r.Body, []byte(`"echo"`)):
			if _, err := events.Publish(ev.Topic, r.Body); err != nil {
				return pave.Text(500, "publish: "+err.Error()+"\n"), nil
			}
		}
		return pave.JSON(200, map[string]any{
			"key": key, "count": n, "trigger": trigger, "caller": r.Caller,
			"depth": r.Header.Get("Pave-Call-Depth"), "type": ev.Type,
			"source": ev.Source, "body": string(r.Body),
		}), nil
	})
}

func main() {}
