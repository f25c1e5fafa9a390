package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
)

// The table of docs/OPERATIONS.md's section on the invocation line names
// exactly the fields the line has, those written only sometimes included.
func TestInvocationLineFieldsAreDocumented(t *testing.T) {
	var buf bytes.Buffer
	g := &Gateway{log: slog.New(slog.NewJSONHandler(&buf, nil)), now: time.Now}
	// Every field set, the optional ones too.
	g.logInvocation(context.Background(), &invocation{
		requestID: "r1", start: time.Now(), function: "f", version: 1, route: "GET /f", caller: "key:k",
		parent: "r0", status: 500, code: apierror.Internal, cause: errors.New("trap"), memory: 1 << 16, isolation: time.Microsecond,
	})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if line["msg"] != "invocation" {
		t.Fatalf("msg %v, want invocation", line["msg"])
	}
	var written []string
	for k := range maps.Keys(line) {
		if k != "time" && k != "level" && k != "msg" {
			written = append(written, k)
		}
	}
	slices.Sort(written)
	if documented := invocationLineDoc(t); !slices.Equal(written, documented) {
		t.Errorf("the invocation line has the fields %q; docs/OPERATIONS.md documents %q", written, documented)
	}
}

// invocationLineDoc returns the field names, sorted, of the table under
// "One line per invocation" in docs/OPERATIONS.md: every code-formatted
// name in a row's first cell.
func invocationLineDoc(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### One line per invocation")
	if !ok {
		t.Fatal(`docs/OPERATIONS.md has no section "One line per invocation"`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	name := regexp.MustCompile("`([a-z_]+)`")
	var names []string
	for _, row := range strings.Split(section, "\n") {
		if !strings.HasPrefix(row, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(row, "|"), "|")
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}
