//go:build race

package testguests

// raceEnabled reports whether the binary was built with the race detector.
const raceEnabled = true
