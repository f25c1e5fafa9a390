// Package keyfile keeps a key in a file that only its owner can read: the
// secrets' master key, the audit log's sealing key, the admin token and
// the files of webhook secrets all go through Load. Whoever can read such
// a file can decrypt every secret or forge the audit log, and whoever can
// swap it can make the daemon use a key they chose, so Load refuses a
// symbolic link (even to a good file), anything but a regular file, and a
// file that users other than its owner can read or write, and checks that
// what it opened is what it checked. Create never follows a link, never
// replaces a file, and never leaves a partial one behind.
//
// On Windows, which has no such permission bits, only the file type is
// checked.
package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// MaxSize bounds what Load reads: a key file holds one line.
const MaxSize = 1 << 10

// ErrTooLong means a file is longer than the most Load or LoadMax reads
// from it, so it cannot hold what it should.
var ErrTooLong = errors.New("too long")

// LoadOrCreate returns the line in the key file at path, or, if there is no
// file there, creates one (mode 0600) holding what newLine returns and
// returns that, with created true. If another process creates the file
// first, its line is used. what names the file in messages ("master key
// file"); they never quote its contents.
func LoadOrCreate(path, what string, newLine func() ([]byte, error)) (line []byte, created bool, err error) {
	line, err = Load(path, what)
	if !errors.Is(err, fs.ErrNotExist) {
		return line, false, err
	}
	if line, err = newLine(); err != nil {
		return nil, false, err
	}
	if err = Create(path, what, line); errors.Is(err, fs.ErrExist) {
		clear(line)
		line, err = Load(path, what)
		return line, false, err
	}
	if err != nil {
		clear(line)
		return nil, false, err
	}
	return line, true, nil
}

// Load returns the contents of the key file at path with surrounding white
// space trimmed; the caller clears it when done. An error wraps
// fs.ErrNotExist when there is no file, and ErrTooLong when the file is
// longer than MaxSize.
func Load(path, what string) ([]byte, error) {
	return LoadMax(path, what, MaxSize)
}

// LoadMax is Load for a file of up to maxSize bytes, such as a file that
// lists several secrets, one a line. It refuses what Load refuses.
func LoadMax(path, what string, maxSize int) ([]byte, error) {
	// Lstat, so that a link is seen as a link.
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if err := CheckPrivate(what, path, before, 0o077); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// What was opened must be what was checked: the path may have been
	// swapped for a link in between.
	if !os.SameFile(before, after) {
		return nil, fmt.Errorf("refusing %s %s: it was replaced while being opened", what, path)
	}
	if err := CheckPrivate(what, path, after, 0o077); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(maxSize)+1))
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	if len(b) > maxSize {
		clear(b)
		return nil, fmt.Errorf("refusing %s %s: %w: it is longer than %d bytes", what, path, ErrTooLong, maxSize)
	}
	line := bytes.Clone(bytes.TrimSpace(b))
	clear(b)
	return line, nil
}

// Create writes line and a newline to a new file at path with mode 0600,
// and makes the new directory entry durable where the platform allows. It
// fails with an error wrapping fs.ErrExist if anything, a link included,
// is at path already.
//
// The file appears at path whole: the line is written to a temporary file
// beside it, which is then hard-linked to path, so a process that loads
// the file while it is being created never reads it half written.
func Create(path, what string, line []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	tmp := f.Name()
	// The temporary name goes in every case: the key stays only at path.
	defer os.Remove(tmp)
	text := append(bytes.Clone(line), '\n')
	defer clear(text)
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	// link(2), like O_EXCL, fails if anything is at path, and never
	// follows a symbolic link planted there.
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// CheckPrivate refuses a symbolic link, anything but a regular file and
// (except on Windows) a file whose mode has any of the bits in forbidden:
// 0o077 for a key, 0o022 for a file others may read but not change.
func CheckPrivate(what, path string, info fs.FileInfo, forbidden fs.FileMode) error {
	mode := info.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return fmt.Errorf("refusing %s %s: it is a symbolic link; name the file itself", what, path)
	case !mode.IsRegular():
		return fmt.Errorf("refusing %s %s: it is not a regular file", what, path)
	case runtime.GOOS != "windows" && mode.Perm()&forbidden != 0:
		return fmt.Errorf("refusing %s %s: mode %04o lets other users access it; run chmod %o %s",
			what, path, mode.Perm(), mode.Perm()&^forbidden, path)
	}
	return nil
}
