//go:build !unix

package async

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
