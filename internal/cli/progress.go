package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress reports steps that may take long, such as the first build of
// an example, which compiles Go's standard library for WebAssembly, or its
// first deploy, which compiles it to machine code: a line when a step
// starts (if it is announced; else once it has run for quiet), a "still"
// line every interval while it runs, and, when it took longer than quiet,
// a line when it ends with how long it took. A step faster than quiet
// prints its start line only if it is announced, else nothing.
type progress struct {
	w        io.Writer
	interval time.Duration
	quiet    time.Duration
	now      func() time.Time
	// ticker returns a channel that delivers the time every d, and a
	// function that stops it.
	ticker func(d time.Duration) (<-chan time.Time, func())
	// after returns a channel that delivers the time once, d from now;
	// nil never does.
	after func(d time.Duration) <-chan time.Time
}

// newProgress reports to w on the real clock.
func newProgress(w io.Writer) *progress {
	return &progress{w: &lockedWriter{w: w}, interval: 10 * time.Second, quiet: 2 * time.Second, now: time.Now,
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
		after: time.After,
	}
}

// task names a step for its progress lines: "<doing> <what>", "still
// <doing> <what> (10s)", "<done> <what> in 25s". A task that is not
// announced is heard of only if it is slow: "<doing> <what> ..." once it
// has run for the quiet time.
type task struct {
	doing, done, what string
	announce          bool
}

// step runs fn, reporting its progress. fn writes its own output to the
// writer it is given, which the progress lines share.
func (p *progress) step(t task, fn func(w io.Writer) error) error {
	if t.announce {
		fmt.Fprintf(p.w, "%s %s\n", t.doing, t.what)
	}
	began := p.now()
	ended := make(chan error, 1)
	go func() { ended <- fn(p.w) }()
	tick, stop := p.ticker(p.interval)
	defer stop()
	var late <-chan time.Time
	if !t.announce && p.after != nil {
		late = p.after(p.quiet)
	}
	for {
		select {
		case <-late:
			fmt.Fprintf(p.w, "%s %s ...\n", t.doing, t.what)
			late = nil
		case err := <-ended:
			if took := p.now().Sub(began); err == nil && took >= p.quiet {
				fmt.Fprintf(p.w, "%s %s in %s\n", t.done, t.what, roundDuration(took))
			}
			return err
		case now := <-tick:
			fmt.Fprintf(p.w, "still %s %s (%s)\n", t.doing, t.what, roundDuration(now.Sub(began)))
		}
	}
}

// roundDuration rounds d for a person to read: to the second from ten
// seconds on, to a tenth of a second below.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// lockedWriter serialises the writes of a step and of its progress lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
