package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Nanosecond, "1ns"},
		{1500 * time.Nanosecond, "1500ns"},
		{time.Microsecond, "1µs"},
		{time.Millisecond, "1ms"},
		{1500 * time.Millisecond, "1500ms"},
		{10 * time.Second, "10s"},
		{900 * time.Second, "900s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	if got, want := quote("a\tb"), `"a\tb"`; got != want {
		t.Errorf("quote = %s, want %s", got, want)
	}
	long := strings.Repeat("é", 100)
	if got, want := quote(long), `"`+strings.Repeat("é", 64)+`"…`; got != want {
		t.Errorf("quote(100 characters) = %s, want %s", got, want)
	}
}
