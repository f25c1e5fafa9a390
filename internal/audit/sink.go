package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/pave-dev/pave/internal/keyfile"
)

// FileSink appends every record it is sent to a file as one JSON line: the
// record's canonical encoding, exactly as stored in the log, so that the
// file can be shipped to a SIEM and still be checked link by link. Seals
// are lines too (kind "seal").
type FileSink struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenFileSink opens path for appending (O_APPEND), creating it with mode
// 0600. It refuses a symbolic link, anything but a regular file and (except
// on Windows) a file that users other than its owner may write: their lines
// would look like audit records.
func OpenFileSink(path string) (*FileSink, error) {
	before, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := keyfile.CheckPrivate("audit file", path, before, 0o022); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// Check what was opened: the path may have been swapped for a link
	// since the Lstat, or created by someone else in between.
	after, err := f.Stat()
	if err == nil {
		err = keyfile.CheckPrivate("audit file", path, after, 0o022)
	}
	if err == nil && before != nil && !os.SameFile(before, after) {
		err = fmt.Errorf("refusing audit file %s: it was replaced while being opened", path)
	}
	if err == nil && before == nil {
		// Created just now (or by someone else since the Lstat): a link
		// there would have been followed, so look at the path again.
		var again fs.FileInfo
		if again, err = os.Lstat(path); err == nil {
			err = keyfile.CheckPrivate("audit file", path, again, 0o022)
			if err == nil && !os.SameFile(again, after) {
				err = fmt.Errorf("refusing audit file %s: it was replaced while being opened", path)
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &FileSink{f: f, path: path}, nil
}

// Send implements Sink: it writes r as one line in a single write.
func (s *FileSink) Send(r Record) error {
	line := append(r.JSON(), '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("audit file %s: closed", s.path)
	}
	if _, err := s.f.Write(line); err != nil {
		return fmt.Errorf("audit file %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
