package store

import "context"

// Purge removes every message of the stream, as a NATS client with the
// rights to can: for tests of streams that refuse it.
func (s *Stream) Purge(ctx context.Context) error { return s.stream.Purge(ctx) }
