package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// A manifest is named relative to its repository's root however its path
// was typed: relative, absolute, or through "..".
func TestRepoPath(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(root, "functions", "pub")
	if err := os.MkdirAll(fn, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(fn, "pave.yaml")
	t.Chdir(fn)
	for _, typed := range []string{manifest, "pave.yaml", "./pave.yaml", "../pub/pave.yaml", filepath.Join(root, "functions", "..", "functions", "pub", "pave.yaml")} {
		if got := repoPath(typed); got != "functions/pub/pave.yaml" {
			t.Errorf("repoPath(%q) = %q", typed, got)
		}
	}
	if got := repoRoot(fn); got != root {
		t.Errorf("repoRoot = %q, want %q", got, root)
	}

	// Outside a repository: relative to the working directory, or the
	// base name; never an absolute path.
	plain := t.TempDir()
	if err := os.MkdirAll(filepath.Join(plain, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(plain)
	if got := repoPath(filepath.Join(plain, "a", "pave.yaml")); got != "a/pave.yaml" {
		t.Errorf("below the working directory: %q", got)
	}
	elsewhere := filepath.Join(t.TempDir(), "x", "pave.yaml")
	if got := repoPath(elsewhere); got != "pave.yaml" {
		t.Errorf("outside the working directory: %q", got)
	}
}
