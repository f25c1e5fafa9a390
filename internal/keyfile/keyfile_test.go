package keyfile_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/internal/keyfile"
)

func newLine() ([]byte, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b)), nil
}

func TestLoadOrCreateCreatesOnceAndLoadsAfter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	first, created, err := keyfile.LoadOrCreate(path, "test key file", newLine)
	if err != nil || !created || len(first) == 0 {
		t.Fatalf("first call: %q, created %v, %v", first, created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("created with mode %04o, want 0600", info.Mode().Perm())
	}
	again, created, err := keyfile.LoadOrCreate(path, "test key file", newLine)
	if err != nil || created || !bytes.Equal(again, first) {
		t.Fatalf("second call: %q (first %q), created %v, %v", again, first, created, err)
	}
}

// TestLoadOrCreateRace: processes starting together agree on one key, and
// exactly one of them created it.
func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	const n = 16
	lines := make([][]byte, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines[i], created[i], errs[i] = keyfile.LoadOrCreate(path, "test key file", newLine)
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(lines[i], lines[0]) {
			t.Fatalf("caller %d got %q, caller 0 %q", i, lines[i], lines[0])
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d callers say they created the file, want 1", creators)
	}
	// No caller read the file half written (above), and no temporary
	// file is left beside it.
	if entries, err := os.ReadDir(filepath.Dir(path)); err != nil || len(entries) != 1 {
		t.Fatalf("the directory holds %d entries, %v; want the key file only", len(entries), err)
	}
}

func TestLoadRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits or unprivileged links")
	}
	dir := t.TempDir()
	write := func(name, text string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	line, err := newLine()
	if err != nil {
		t.Fatal(err)
	}
	good := write("good", string(line)+"\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"world readable", write("0644", string(line), 0o644), "chmod 600"},
		{"group writable", write("0620", string(line), 0o620), "other users"},
		{"other executable", write("0601", string(line), 0o601), "other users"},
		{"a link to a good file", link, "symbolic link"},
		{"a directory", t.TempDir(), "not a regular file"},
		{"too long", write("long", strings.Repeat("A", keyfile.MaxSize+1), 0o600), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyfile.Load(tt.path, "test key file")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %q, %v; want an error saying %q", got, err, tt.want)
			}
			if strings.Contains(err.Error(), string(line)) {
				t.Fatalf("the error quotes the file: %v", err)
			}
			// LoadOrCreate must not replace a file it refuses.
			if _, _, err := keyfile.LoadOrCreate(tt.path, "test key file", newLine); err == nil {
				t.Fatal("LoadOrCreate accepted it")
			}
		})
	}
	if got, err := keyfile.Load(good, "test key file"); err != nil || !bytes.Equal(got, line) {
		t.Fatalf("the good file: %q, %v; want %q without its newline", got, err, line)
	}
	if _, err := keyfile.Load(filepath.Join(dir, "missing"), "test key file"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestCreateNeverFollowsALink plants a dangling link where the key file is
// to be created: creating must fail rather than write the key wherever the
// link points.
func TestCreateNeverFollowsALink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unprivileged links")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	path := filepath.Join(dir, "k")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keyfile.LoadOrCreate(path, "test key file", newLine); err == nil {
		t.Fatal("LoadOrCreate went through a dangling link")
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("something was written where the link points: %v", err)
	}
	if err := keyfile.Create(path, "test key file", []byte("x")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over a link: %v, want fs.ErrExist", err)
	}
}

func TestLoadMax(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets")
	text := strings.Repeat("secret\n", 300) // 2100 bytes
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := keyfile.LoadMax(path, "test file", 4096); err != nil || string(got) != strings.TrimSpace(text) {
		t.Fatalf("LoadMax(4096) = %d bytes, %v; want the file", len(got), err)
	}
	if _, err := keyfile.LoadMax(path, "test file", 2099); !errors.Is(err, keyfile.ErrTooLong) || !strings.Contains(err.Error(), "longer than 2099 bytes") {
		t.Fatalf("LoadMax(2099) = %v; want ErrTooLong naming the bound", err)
	}
	if _, err := keyfile.Load(path, "test file"); !errors.Is(err, keyfile.ErrTooLong) {
		t.Fatalf("Load = %v; want ErrTooLong past MaxSize", err)
	}
}
