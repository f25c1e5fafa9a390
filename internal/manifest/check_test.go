package manifest

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "512B", want: 512},
		{in: "64KiB", want: 64 << 10},
		{in: "64MiB", want: 64 << 20},
		{in: "4GiB", want: 4 << 30},
		{in: "007MiB", want: 7 << 20},
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "9223372036854775808", want: math.MaxInt64},
		{in: "8589934592GiB", want: math.MaxInt64},
		{in: "", wantErr: true},
		{in: "B", wantErr: true},
		{in: "-1MiB", wantErr: true},
		{in: "+1MiB", wantErr: true},
		{in: "1.5MiB", wantErr: true},
		{in: "1 MiB", wantErr: true},
		{in: " 1MiB", wantErr: true},
		{in: "1MB", wantErr: true},
		{in: "1KB", wantErr: true},
		{in: "1kib", wantErr: true},
		{in: "1M", wantErr: true},
		{in: "1TiB", wantErr: true},
		{in: "1MiBB", wantErr: true},
		{in: "0x10", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("parseSize(%q) = %d, want an error", tt.in, got)
		case tt.wantErr && !strings.Contains(err.Error(), "B, KiB, MiB or GiB"):
			t.Errorf("parseSize(%q) error = %q, want it to name the accepted units", tt.in, err)
		case !tt.wantErr && err != nil:
			t.Errorf("parseSize(%q): %v", tt.in, err)
		case !tt.wantErr && got != tt.want:
			t.Errorf("parseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1023, "1023B"},
		{1024, "1KiB"},
		{1536, "1536B"},
		{1 << 20, "1MiB"},
		{3 << 19, "1536KiB"},
		{64 << 20, "64MiB"},
		{4 << 30, "4GiB"},
		{MaxFileSize, "256KiB"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.in); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

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
