// Package keyfiletest attacks readers of owner-only files: every reader
// built on package keyfile (key files, the admin token file, webhook
// secret files) must refuse the same files, and its tests get them here.
package keyfiletest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Attack is a file a reader of owner-only files must refuse, and what its
// refusal must say.
type Attack struct {
	Name, Path, Want string
}

// Write writes content to a new file name in dir with exactly mode, past
// the umask, and returns its path.
func Write(tb testing.TB, dir, name, content string, mode os.FileMode) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Attacks writes, in a new directory, a good file holding content (mode
// 0600) and each kind of file a reader must refuse: a symbolic link to the
// good file, a file others can read, one the group can read, a directory,
// and a file of content padded past maxSize bytes. On Windows, which has
// no such permission bits, the two permission attacks are left out.
func Attacks(tb testing.TB, content string, maxSize int) (good string, attacks []Attack) {
	tb.Helper()
	dir := tb.TempDir()
	good = Write(tb, dir, "good", content+"\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		tb.Fatal(err)
	}
	attacks = []Attack{
		{"a link to a good file", link, "symbolic link"},
		{"a directory", tb.TempDir(), "not a regular file"},
		{"too long", Write(tb, dir, "long", content+"\n"+strings.Repeat("A", maxSize), 0o600), "longer than"},
	}
	if runtime.GOOS != "windows" {
		attacks = append(attacks,
			Attack{"world readable", Write(tb, dir, "0644", content, 0o644), "chmod 600"},
			Attack{"group readable", Write(tb, dir, "0640", content, 0o640), "other users"},
		)
	}
	return good, attacks
}

// Refuses runs read on every attack and fails t unless each is refused
// with an error that says what the attack wants, names the file, and does
// not quote content.
func Refuses(t *testing.T, content string, attacks []Attack, read func(path string) error) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.Name, func(t *testing.T) {
			err := read(a.Path)
			if err == nil || !strings.Contains(err.Error(), a.Want) {
				t.Fatalf("read = %v; want an error saying %q", err, a.Want)
			}
			if strings.Contains(err.Error(), content) || !strings.Contains(err.Error(), a.Path) {
				t.Fatalf("the error should name the file and not quote it: %v", err)
			}
		})
	}
}
