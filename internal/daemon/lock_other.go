//go:build !unix

package daemon

// lockDataDir does not lock on platforms without flock; running two daemons
// on one data directory there is the operator's responsibility.
func lockDataDir(string) (func(), error) { return func() {}, nil }
