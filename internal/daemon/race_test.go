//go:build race

package daemon_test

// raceEnabled reports whether the tests were built with the race detector.
const raceEnabled = true
