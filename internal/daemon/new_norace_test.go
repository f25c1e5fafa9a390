//go:build !race

package daemon_test

import "testing"

// TestNewProjectsGoAndJavaScript is TestNewProjects in Go, JavaScript and
// TypeScript, whose new modules the race detector makes minutes slower to
// compile. The Makefile's step without the detector runs it.
func TestNewProjectsGoAndJavaScript(t *testing.T) {
	for _, lang := range []string{"go", "js", "ts"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testNewProjects(t, lang)
		})
	}
}
