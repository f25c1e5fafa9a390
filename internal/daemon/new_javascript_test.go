//go:build !race

package daemon_test

import "testing"

// TestNewProjectsJavaScript is TestNewProjects in JavaScript and
// TypeScript, which the race detector makes too slow.
func TestNewProjectsJavaScript(t *testing.T) {
	for _, lang := range []string{"js", "ts"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testNewProjects(t, lang)
		})
	}
}
