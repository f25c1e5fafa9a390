package apierror

import (
	"regexp"
	"testing"
)

// TestNewRequestID checks the form every response's X-Request-Id has, and
// that ids do not repeat.
func TestNewRequestID(t *testing.T) {
	form := regexp.MustCompile(`^[a-z2-7]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		if !form.MatchString(id) {
			t.Fatalf("NewRequestID() = %q, want 16 characters of lower-case base32", id)
		}
		if seen[id] {
			t.Fatalf("NewRequestID() repeated %q", id)
		}
		seen[id] = true
	}
}
