package store

import (
	"context"
	"testing"
	"time"
)

// TestBlobTransfersOutlastJetStreamsDefault checks the deadline a blob's
// transfer runs under: a caller without one gets blobTimeout, well past
// JetStream's 5 s default for the whole transfer, and a caller with one
// keeps its own.
func TestBlobTransfersOutlastJetStreamsDefault(t *testing.T) {
	ctx, cancel := bounded(context.Background())
	defer cancel()
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) < blobTimeout-time.Second || blobTimeout < time.Minute {
		t.Fatalf("no deadline of about %s: %v %v", blobTimeout, deadline, ok)
	}

	own, cancelOwn := context.WithTimeout(context.Background(), time.Second)
	defer cancelOwn()
	ctx, cancel = bounded(own)
	defer cancel()
	if d, _ := ctx.Deadline(); d != func() time.Time { d, _ := own.Deadline(); return d }() {
		t.Fatalf("the caller's deadline was replaced: %v", d)
	}
}
