package apikey

import (
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	for _, tt := range []struct {
		s             string
		name, scopeOK bool
	}{
		{"ci", true, true},
		{"a.b_c-d", true, true},
		{"9lives", true, true},
		{"", false, false},
		{"-x", false, true},
		{"CI", false, true},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, true},
		{"orders:write", false, true},
		{"has space", false, false},
		{`quo"te`, false, false},
		{`back\slash`, false, false},
		{strings.Repeat("s", 129), false, false},
		{"é", false, false},
	} {
		if got := ValidName(tt.s); got != tt.name {
			t.Errorf("ValidName(%q) = %v", tt.s, got)
		}
		if got := ValidScope(tt.s); got != tt.scopeOK {
			t.Errorf("ValidScope(%q) = %v", tt.s, got)
		}
	}
}
