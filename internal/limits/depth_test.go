package limits

import (
	"errors"
	"testing"
)

func TestCallDepth(t *testing.T) {
	tests := []struct {
		header  string
		max     int
		want    int
		wantErr error
	}{
		{"", 8, 1, nil},
		{"0", 8, 1, nil},
		{"1", 8, 2, nil},
		{"7", 8, 8, nil},
		{"8", 8, 0, ErrCallDepth},
		{"9", 8, 0, ErrCallDepth},
		{"007", 8, 8, nil},
		{"", 0, 1, nil},            // max <= 0: the default
		{"7", 0, 8, nil},           // the default is 8
		{"8", -1, 0, ErrCallDepth}, // the default is 8
		{"0", 1, 1, nil},           // max 1: only calls from outside
		{"1", 1, 0, ErrCallDepth},  // max 1: no nested call
		{"999", 2000, 1000, nil},   // large but plausible
		{"1000", 2000, 1001, nil},  // the largest header accepted
		{"1001", 2000, 0, ErrInvalidCallDepth},
		{"99999", 8, 0, ErrInvalidCallDepth},
		{"99999999999999999999", 8, 0, ErrInvalidCallDepth},
		{"-1", 8, 0, ErrInvalidCallDepth},
		{"+1", 8, 0, ErrInvalidCallDepth},
		{" 1", 8, 0, ErrInvalidCallDepth},
		{"1 ", 8, 0, ErrInvalidCallDepth},
		{"1.0", 8, 0, ErrInvalidCallDepth},
		{"0x1", 8, 0, ErrInvalidCallDepth},
		{"one", 8, 0, ErrInvalidCallDepth},
		{"1,2", 8, 0, ErrInvalidCallDepth},
		{"\u0661", 8, 0, ErrInvalidCallDepth}, // ARABIC-INDIC DIGIT ONE
	}
	for _, tt := range tests {
		got, err := CallDepth(tt.header, tt.max)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("CallDepth(%q, %d) = %d, %v; want %d, %v", tt.header, tt.max, got, err, tt.want, tt.wantErr)
		}
	}
}
