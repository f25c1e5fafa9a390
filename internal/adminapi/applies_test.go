package adminapi

import (
	"fmt"
	"strings"
	"testing"
)

func TestJoinCut(t *testing.T) {
	if got := joinCut([]string{"a", "b"}); got != "a; b" {
		t.Errorf("short list: %q", got)
	}
	if got := joinCut(nil); got != "" {
		t.Errorf("no list: %q", got)
	}
	var long []string
	for i := range 100 {
		long = append(long, fmt.Sprintf("function.deploy function:f%02d", i))
	}
	got := joinCut(long)
	if len(got) > applyDetailValue || !strings.HasPrefix(got, long[0]+"; "+long[1]) {
		t.Fatalf("long list cut to %d bytes: %q", len(got), got)
	}
	shown := strings.Count(got, "function.deploy")
	if want := fmt.Sprintf("; +%d more", len(long)-shown); !strings.HasSuffix(got, want) {
		t.Errorf("long list %q does not end with %q", got, want)
	}
}
