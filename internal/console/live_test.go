package console

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/observe"
)

// fakeLive hands the records given to publish to every open Tail.
type fakeLive struct {
	mu   sync.Mutex
	subs map[chan observe.Record]string // to the function followed
	open chan int                       // the number of tails, after each change
}

func newFakeLive() *fakeLive {
	return &fakeLive{subs: map[chan observe.Record]string{}, open: make(chan int, 100)}
}

func (l *fakeLive) Tail(ctx context.Context, function string, fn func(observe.Record) error) error {
	ch := make(chan observe.Record, 1000)
	l.mu.Lock()
	l.subs[ch] = function
	l.open <- len(l.subs)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.open <- len(l.subs)
		l.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-ch:
			if err := fn(r); err != nil {
				return err
			}
		}
	}
}

func (l *fakeLive) publish(r observe.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch, fn := range l.subs {
		if fn == "" || fn == r.Function {
			ch <- r
		}
	}
}

// waitOpen waits until n tails are open.
func (l *fakeLive) waitOpen(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-l.open:
			if got == n {
				return
			}
		case <-deadline:
			t.Fatalf("%d tails never open", n)
		}
	}
}

// stream is a server-sent events response, read event by event.
type stream struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func (b *browser) stream(path string) (*stream, *http.Response) {
	b.fx.t.Helper()
	req, _ := http.NewRequest("GET", b.fx.srv.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.fx.t.Fatal(err)
	}
	b.fx.t.Cleanup(func() { resp.Body.Close() })
	return &stream{resp: resp, sc: bufio.NewScanner(resp.Body)}, resp
}

// next returns the next event's name and data; comments are skipped.
func (s *stream) next(t *testing.T) (event, data string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s.sc.Scan() {
			line := s.sc.Text()
			switch {
			case line == "" && (event != "" || data != ""):
				return
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	select {
	case <-done:
		return event, data
	case <-time.After(5 * time.Second):
		t.Fatal("no event came")
	}
	return "", ""
}

func TestLivePage(t *testing.T) {
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	for _, tc := range []struct {
		path    string
		want    []string
		notWant []string
	}{
		{"/ui/live", []string{"req-ok", "req-fail-2", ">address 203.0.113.9<", `data-stream="/ui/live/events"`, `href="/ui/live"`}, nil},
		{"/ui/live?outcome=refused", []string{">address 203.0.113.9<", `data-stream="/ui/live/events?outcome=refused"`}, []string{"req-ok", "req-fail-2"}},
		{"/ui/live?caller=key%3Aci&outcome=error", []string{"req-fail-2", "function_failed"}, []string{"req-ok", "203.0.113.9"}},
		{"/ui/live?caller=jwt%3A", []string{"No call in the last day matches."}, []string{"req-ok"}},
		{"/ui/live?function=hello&outcome=ok", []string{"req-ok", `<option value="hello" selected>`}, []string{"req-fail-2"}},
	} {
		p := b.get(tc.path)
		if p.status != 200 {
			t.Errorf("%s = %d", tc.path, p.status)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s does not show %q", tc.path, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(p.body, w) {
				t.Errorf("%s shows %q", tc.path, w)
			}
		}
	}
	for path, status := range map[string]int{"/ui/live?outcome=maybe": 400, "/ui/live?function=nope": 404, "/ui/live/events?outcome=maybe": 400} {
		if p := b.get(path); p.status != status {
			t.Errorf("%s = %d, want %d", path, p.status, status)
		}
	}
	if p := fx.browser().get("/ui/live/events"); p.status != http.StatusSeeOther {
		t.Errorf("events without a session = %d, want a redirect to the login", p.status)
	}
}

func TestLiveEvents(t *testing.T) {
	// Restored after the fixture's server has closed, which waits for the
	// streams' handlers that read it: cleanups run last registered first.
	t.Cleanup(func(d time.Duration) func() { return func() { liveCheck = d } }(liveCheck))
	liveCheck = 20 * time.Millisecond
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	s, resp := b.stream("/ui/live/events?outcome=error")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("events = %d %v", resp.StatusCode, resp.Header)
	}
	fx.live.waitOpen(t, 1)
	now := fx.clock.now()
	fx.live.publish(observe.Record{Time: now, Function: "hello", Status: 200, RequestID: "live-ok", Digest: "d", Caller: "key:ci"})
	fx.live.publish(observe.Record{Time: now, Function: "hello", Status: 500, Code: "function_failed", RequestID: "live-failed", Digest: "d",
		Caller: "key:ci", Logs: []observe.LogLine{{Level: "error", Msg: "password=hunter2"}}})
	ev, data := s.next(t)
	if ev != "call" || !strings.Contains(data, `"request_id":"live-failed"`) || !strings.Contains(data, `"outcome":"error"`) {
		t.Errorf("first event %s %s, want the failed call only", ev, data)
	}
	if strings.Contains(data, "hunter2") {
		t.Error("a live event carries a log line")
	}

	// Bounded per session: the fourth stream of one session is refused.
	b.stream("/ui/live/events")
	b.stream("/ui/live/events")
	fx.live.waitOpen(t, 3)
	if _, r := b.stream("/ui/live/events"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a fourth stream = %d, want 429", r.StatusCode)
	}

	// The stream ends with the session.
	fx.clock.add(2 * time.Hour)
	if ev, data := s.next(t); ev != "end" || !strings.Contains(data, "session has ended") {
		t.Errorf("after the session = %s %s", ev, data)
	}
}

// TestLiveDropsForASlowBrowser fills the buffer of a stream that is not
// read: the tail never waits, and the browser is told what it missed.
func TestLiveDropsForASlowBrowser(t *testing.T) {
	defer func(n int) { liveBuffer = n }(liveBuffer)
	liveBuffer = 2
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	s, _ := b.stream("/ui/live/events")
	fx.live.waitOpen(t, 1)
	// A consumer that does not read still lets publish return: the
	// response's buffers and the stream's take the first records, the
	// rest are dropped.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			fx.live.publish(observe.Record{Time: fx.clock.now(), Function: "hello", Status: 200, RequestID: "r" + strings.Repeat("x", 200) + string(rune('a'+i%26))})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing to a slow stream blocked")
	}
	sawDropped := false
	for range 3000 {
		ev, _ := s.next(t)
		if ev == "dropped" {
			sawDropped = true
			break
		}
	}
	if !sawDropped {
		t.Error("the browser was not told of the dropped records")
	}
}

// TestLiveEndsOnClose ends the open streams when the daemon shuts the
// console down; heartbeats keep an idle stream open until then.
func TestLiveEndsOnClose(t *testing.T) {
	t.Cleanup(func(d time.Duration) func() { return func() { liveHeartbeat = d } }(liveHeartbeat)) // as in TestLiveEvents
	liveHeartbeat = 10 * time.Millisecond
	fx := newFixture(t, false)
	b := fx.browser()
	b.signIn()
	s, _ := b.stream("/ui/live/events")
	fx.live.waitOpen(t, 1)
	heartbeats := 0
	for heartbeats < 2 && s.sc.Scan() {
		if s.sc.Text() == ": heartbeat" {
			heartbeats++
		}
	}
	if heartbeats < 2 {
		t.Fatal("no heartbeat")
	}
	fx.cons.Close()
	if ev, data := s.next(t); ev != "end" || !strings.Contains(data, "shutting down") {
		t.Errorf("after Close = %s %s", ev, data)
	}
	fx.live.waitOpen(t, 0)
}
