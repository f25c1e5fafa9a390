//go:build unix

package bench

import (
	"syscall"
	"time"
)

// processorTime is the processor time the process has used so far, user
// and system; zero where it cannot be read.
func processorTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
