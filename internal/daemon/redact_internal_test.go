package daemon

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// TestRedactingHandler logs lines with a stored secret's value in each
// place a line can carry one, and lines without: the value never reaches
// the next handler, and a line without one reaches it whole.
func TestRedactingHandler(t *testing.T) {
	raw := make([]byte, 12)
	_, _ = rand.Read(raw)
	value := "value-" + hex.EncodeToString(raw)
	red := secrets.NewRedactor([]secret.Value{secret.Value(value)})
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string // the line, without its time
	}{
		{"clean", func(l *slog.Logger) {
			l.Info("invocation", "function", "hello", "status", 200, "duration_ms", 1.5, "err", errors.New("none"))
		}, `level=INFO msg=invocation function=hello status=200 duration_ms=1.5 err=none`},
		{"in the message", func(l *slog.Logger) { l.Info("got " + value) },
			`level=INFO msg="got [REDACTED]"`},
		{"in the last string", func(l *slog.Logger) { l.Info("m", "a", 1, "b", "x"+value) },
			`level=INFO msg=m a=1 b=x[REDACTED]`},
		{"in the first of many", func(l *slog.Logger) {
			l.Info("m", "a", value, "b", 2, "c", "3", "d", 4, "e", 5, "f", 6, "g", 7)
		}, `level=INFO msg=m a=[REDACTED] b=2 c=3 d=4 e=5 f=6 g=7`},
		{"in an error", func(l *slog.Logger) { l.Info("m", "n", 7, "err", errors.New("dial "+value)) },
			`level=INFO msg=m n=7 err="dial [REDACTED]"`},
		{"in a group", func(l *slog.Logger) { l.Info("m", slog.Group("g", "k", 1, "v", value)) },
			`level=INFO msg=m g.k=1 g.v=[REDACTED]`},
		{"in a key", func(l *slog.Logger) { l.Info("m", value, 1) },
			`level=INFO msg=m [REDACTED]=1`},
		{"in attributes given before", func(l *slog.Logger) { l.With("k", value).Info("m", "n", 1) },
			`level=INFO msg=m k=[REDACTED] n=1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			next := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})
			tt.log(slog.New(redactingHandler{next: next, redactor: func() *secrets.Redactor { return red }}))
			got := strings.TrimSuffix(buf.String(), "\n")
			if strings.Contains(got, value) || got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	none := slog.New(redactingHandler{next: slog.NewTextHandler(&buf, nil), redactor: func() *secrets.Redactor { return nil }})
	none.Info("m", "k", value)
	if !strings.Contains(buf.String(), value) {
		t.Errorf("with no secret stored the line changed: %s", buf.String())
	}
}
