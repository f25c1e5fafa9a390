package cli

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that a test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestProgress(t *testing.T) {
	build := task{doing: "building", done: "built", what: "examples/hello", announce: true}
	deploy := task{doing: "deploying", done: "deployed", what: "hello"}
	failed := errors.New("go build: exit status 1")
	tests := []struct {
		name   string
		task   task
		output string          // what the step itself writes
		ticks  []time.Duration // when the ticker fires, from the start
		late   bool            // whether the quiet time passes before the ticks
		took   time.Duration
		err    error
		want   string
	}{
		{"fast", build, "", nil, false, 300 * time.Millisecond, nil,
			"building examples/hello\n"},
		{"fast and quiet", deploy, "", nil, false, 300 * time.Millisecond, nil,
			""},
		{"a few seconds", build, "", nil, false, 3200 * time.Millisecond, nil,
			"building examples/hello\nbuilt examples/hello in 3.2s\n"},
		{"long", build, "go: downloading example.com/m v1.0.0\n", []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}, false, 34 * time.Second, nil,
			"building examples/hello\ngo: downloading example.com/m v1.0.0\nstill building examples/hello (10s)\nstill building examples/hello (20s)\nstill building examples/hello (30s)\nbuilt examples/hello in 34s\n"},
		{"long and quiet", deploy, "", []time.Duration{10 * time.Second}, true, 12*time.Second + 400*time.Millisecond, nil,
			"deploying hello ...\nstill deploying hello (10s)\ndeployed hello in 12s\n"},
		{"long and failed", build, "main.go:3: syntax error\n", []time.Duration{10 * time.Second}, false, 11 * time.Second, failed,
			"building examples/hello\nmain.go:3: syntax error\nstill building examples/hello (10s)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			clock := &fakeClock{t: start}
			ticks, late := make(chan time.Time), make(chan time.Time)
			var interval time.Duration
			stopped := false
			var out bytes.Buffer
			p := &progress{w: &lockedWriter{w: &out}, interval: 10 * time.Second, quiet: 2 * time.Second, now: clock.now,
				ticker: func(d time.Duration) (<-chan time.Time, func()) {
					interval = d
					return ticks, func() { stopped = true }
				},
				after: func(d time.Duration) <-chan time.Time {
					if d != 2*time.Second {
						t.Errorf("quiet time %s", d)
					}
					return late
				}}
			err := p.step(tt.task, func(w io.Writer) error {
				io.WriteString(w, tt.output)
				if tt.late {
					late <- start.Add(2 * time.Second)
				}
				for _, at := range tt.ticks {
					ticks <- start.Add(at) // received before the step ends
				}
				clock.set(start.Add(tt.took))
				return tt.err
			})
			if err != tt.err {
				t.Fatalf("step returned %v, want %v", err, tt.err)
			}
			if got := out.String(); got != tt.want {
				t.Fatalf("printed\n%s\nwant\n%s", got, tt.want)
			}
			if interval != 10*time.Second || !stopped {
				t.Fatalf("ticker every %s, stopped %v", interval, stopped)
			}
		})
	}
}
