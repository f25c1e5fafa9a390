package audit

import (
	"context"
	"errors"
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
// StreamLog is the JetStream implementation; the tests' MemLog keeps
// records in memory.
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
