package audit

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemLog is a Log in memory, for tests. The zero value is an
// empty log.
type MemLog struct {
	mu      sync.Mutex
	entries []Entry // ascending Seq
	end     uint64
}

// Append implements Log.
func (l *MemLog) Append(ctx context.Context, after uint64, data []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if after != l.end {
		return 0, fmt.Errorf("%w: append after %d, the last is %d", ErrConflict, after, l.end)
	}
	l.end++
	l.entries = append(l.entries, Entry{Seq: l.end, Data: slices.Clone(data)})
	return l.end, nil
}

// Read implements Log.
func (l *MemLog) Read(ctx context.Context, from uint64, fn func(Entry) error) error {
	l.mu.Lock()
	entries := slices.Clone(l.entries)
	l.mu.Unlock()
	for _, e := range entries {
		if e.Seq < from {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(Entry{Seq: e.Seq, Data: slices.Clone(e.Data)}); err != nil {
			return err
		}
	}
	return nil
}

// Last implements Log.
func (l *MemLog) Last(ctx context.Context) (Entry, uint64, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) == 0 {
		return Entry{}, l.end, nil
	}
	e := l.entries[len(l.entries)-1]
	return Entry{Seq: e.Seq, Data: slices.Clone(e.Data)}, l.end, nil
}

// Delete removes record seq, as retention or a deletion would; its
// number is not reused. It reports whether there was such a record.
func (l *MemLog) Delete(seq uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := slices.BinarySearchFunc(l.entries, seq, func(e Entry, seq uint64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	if ok {
		l.entries = slices.Delete(l.entries, i, i+1)
	}
	return ok
}
