package secrets

import (
	"regexp"
	"strings"
	"testing"
)

var (
	nameRule = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	keyRule  = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
)

// FuzzRecordKey: ValidName is exactly the documented rule, every valid name
// maps to a key JetStream accepts and back, no two names share a key, and
// no other key reads as a secret's.
func FuzzRecordKey(f *testing.F) {
	for _, s := range []string{"a", "a.", "a..b", "a=b", "db_password", "1a", "s.a", "", "é", strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidName(s) != nameRule.MatchString(s) {
			t.Fatalf("ValidName(%q) = %v, the rule says otherwise", s, ValidName(s))
		}
		if ValidName(s) {
			k := recordKey(s)
			if !keyRule.MatchString(k) || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
				t.Fatalf("key %q of %q is not a JetStream key", k, s)
			}
			if name, ok := nameOf(k); !ok || name != s {
				t.Fatalf("nameOf(recordKey(%q)) = %q, %v", s, name, ok)
			}
		}
		// Read as a key: only the key of a valid name is a secret's.
		if name, ok := nameOf(s); ok && (!ValidName(name) || recordKey(name) != s) {
			t.Fatalf("nameOf(%q) = %q", s, name)
		}
	})
}
