package store

import (
	"context"
	"time"
)

// Purge removes every message of the stream, as a NATS client with the
// rights to can: for tests of streams that refuse it.
func (s *Stream) Purge(ctx context.Context) error { return s.stream.Purge(ctx) }

// SetBlobAckWait changes the bound on each acknowledgement of a blob's
// write for the object stores n opens from now on.
func (n *NATS) SetBlobAckWait(d time.Duration) { n.blobAckWait = d }
