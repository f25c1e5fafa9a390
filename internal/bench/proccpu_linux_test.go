package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		{"4242 (pave) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 12 0 100 0 0", 1750 * time.Millisecond, true},
		// A command name with spaces and parentheses.
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 0 0", 70 * time.Millisecond, true},
		{"7 (pave) S 1 7", 0, false},
		{"garbage", 0, false},
		{"7 (pave) S 1 7 7 0 -1 0 0 0 0 0 x 4 0 0", 0, false},
	} {
		got, err := parseStat([]byte(tt.stat))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseStat(%q) = %s, %v; want %s, ok %v", tt.stat, got, err, tt.want, tt.ok)
		}
	}
}

// TestProcessCPU reads this process's processor time, which some work
// makes grow.
func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for began := time.Now(); time.Since(began) < 100*time.Millisecond; {
	}
	after, err := processCPU(os.Getpid())
	if err != nil || after <= before {
		t.Errorf("processor time %s, then %s after spinning for 100ms (%v)", before, after, err)
	}
}
