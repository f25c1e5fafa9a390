package observe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// Tail calls fn with each record written from now on, of function or,
// when function is empty, of every function, until ctx ends or fn
// returns an error. It reads what the history stream stores, as a
// following Read does: the gateway never waits for it, and a slow fn
// only falls behind in the stream.
func (h *History) Tail(ctx context.Context, function string, fn func(Record) error) error {
	subject := SubjectPrefix + ">"
	if function != "" {
		if strings.ContainsAny(function, ".*> \t") {
			return fmt.Errorf("invalid function name")
		}
		subject = SubjectPrefix + function
	}
	since := time.Now()
	// Records are stored in batches, up to one flush interval after they
	// happened: start that early, and keep records from since on.
	opts := store.ScanOptions{Subjects: []string{subject}, Since: since.Add(-2 * h.interval), Follow: true}
	return h.scan(ctx, opts, since, StatusFilter{}, false, fn)
}
