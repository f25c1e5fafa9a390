package cli

import (
	"os"
	"path/filepath"
)

// repoRoot returns the root of the repository that holds dir: the nearest
// directory at or above it with a .git entry; "" if there is none.
func repoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// repoPath names the file at path as reports should: relative to the
// repository root that holds it, slash-separated, whatever way the path
// was typed; without a repository, relative to the working directory when
// it is below it, else its base name. This is how a manifest is named to
// the daemon, so that code scanning can place a finding in the repository.
func repoPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Base(path)
	}
	base := repoRoot(filepath.Dir(abs))
	if base == "" {
		if base, err = os.Getwd(); err != nil {
			return filepath.Base(path)
		}
	}
	if rel, err := filepath.Rel(base, abs); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return filepath.Base(path)
}
