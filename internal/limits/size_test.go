package limits

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in       string
		want     int64
		wantErr  bool
		overflow bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "512B", want: 512},
		{in: "64KiB", want: 64 << 10},
		{in: "64MiB", want: 64 << 20},
		{in: "4GiB", want: 4 << 30},
		{in: "007MiB", want: 7 << 20},
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "9223372036854775808", overflow: true},
		{in: "8589934592GiB", overflow: true},
		{in: "", wantErr: true},
		{in: "B", wantErr: true},
		{in: "-1MiB", wantErr: true},
		{in: "+1MiB", wantErr: true},
		{in: "1.5MiB", wantErr: true},
		{in: "1 MiB", wantErr: true},
		{in: " 1MiB", wantErr: true},
		{in: "1MiB ", wantErr: true},
		// --history-max-bytes once read these as powers of 1024, and
		// pave budget set took TiB; the manifest's grammar won.
		{in: "10MB", wantErr: true},
		{in: "1KB", wantErr: true},
		{in: "1TiB", wantErr: true},
		{in: "1kib", wantErr: true},
		{in: "1M", wantErr: true},
		{in: "1MiBB", wantErr: true},
		{in: "0x10", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		switch {
		case tt.overflow:
			if got != math.MaxInt64 || !errors.Is(err, ErrSizeOverflow) || !errors.Is(err, ErrInvalidSize) {
				t.Errorf("ParseSize(%q) = %d, %v; want math.MaxInt64 and ErrSizeOverflow", tt.in, got, err)
			}
		case tt.wantErr && err == nil:
			t.Errorf("ParseSize(%q) = %d, want an error", tt.in, got)
		case tt.wantErr && (!strings.Contains(err.Error(), SizeSyntax) || !errors.Is(err, ErrInvalidSize)):
			t.Errorf("ParseSize(%q) error = %q, want ErrInvalidSize naming the accepted form", tt.in, err)
		case !tt.wantErr && err != nil:
			t.Errorf("ParseSize(%q): %v", tt.in, err)
		case !tt.wantErr && got != tt.want:
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSizeMessage(t *testing.T) {
	_, err := ParseSize("10MB")
	want := `invalid size "10MB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`
	if err == nil || err.Error() != want {
		t.Errorf("ParseSize(10MB) = %v, want %s", err, want)
	}
	_, err = ParseSize(strings.Repeat("9", 100))
	if err == nil || len(err.Error()) > 100 {
		t.Errorf("ParseSize of 100 digits: %v, want an error quoting at most %d of them", err, maxQuotedSize)
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
		{1 << 40, "1024GiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
