package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Entry is a record as a Log stores it: its sequence number and bytes.
type Entry struct {
	Seq  uint64
	Data []byte
}

// ErrConflict is what Log.Append returns when after is not the log's last
// sequence number: another writer appended first.
var ErrConflict = errors.New("audit log: another record was appended first")

// Log is where the records are kept: an append-only sequence numbered from
// 1 that never reuses a number, even for records that were removed.
// StreamLog is the JetStream implementation; MemLog keeps records in
// memory.
type Log interface {
	// Append stores data as record after+1 if after is the sequence number
	// of the last record ever appended (0 for none) and returns after+1.
	// Otherwise it stores nothing and returns an error matching
	// ErrConflict.
	Append(ctx context.Context, after uint64, data []byte) (uint64, error)
	// Read calls fn with each stored record whose sequence number is from
	// or later, in order, up to the last one stored when Read was called.
	// Removed records are skipped, so their numbers are missing. An error
	// from fn ends Read and is returned.
	Read(ctx context.Context, from uint64, fn func(Entry) error) error
	// Last returns end, the sequence number of the last record ever
	// appended (0 if none), and the newest record still stored (a zero
	// Entry if none). last.Seq < end when the newest records were removed.
	Last(ctx context.Context) (last Entry, end uint64, err error)
}

// MemLog is a Log in memory, for tests and tools. The zero value is an
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
