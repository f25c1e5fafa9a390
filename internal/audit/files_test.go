package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	key, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	if _, err := New(&MemLog{}, key, Options{}); err != nil {
		t.Fatalf("the created key: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", info.Mode().Perm())
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created || again != key {
		t.Fatalf("load: %v, created %v, same key %v", err, created, again == key)
	}
	if strings.Contains(err2str(LoadOrCreateKey(filepath.Join(dir, "missing-dir", "k"))), key.Reveal()) {
		t.Fatal("an error quotes the key")
	}
}

func err2str(_ any, _ bool, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLoadOrCreateKeyRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits or unprivileged symbolic links")
	}
	good, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, content string, mode fs.FileMode) string {
		path := filepath.Join(t.TempDir(), "audit.key")
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  string // in the error
	}{
		{"world-readable", func(t *testing.T) string { return write(t, good.Reveal(), 0o644) }, "other users"},
		{"group-readable", func(t *testing.T) string { return write(t, good.Reveal(), 0o640) }, "other users"},
		{"group-writable", func(t *testing.T) string { return write(t, good.Reveal(), 0o620) }, "other users"},
		{"a symbolic link to a good file", func(t *testing.T) string {
			target := write(t, good.Reveal(), 0o600)
			link := filepath.Join(t.TempDir(), "link.key")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "symbolic link"},
		{"a dangling symbolic link", func(t *testing.T) string {
			link := filepath.Join(t.TempDir(), "link.key")
			if err := os.Symlink(filepath.Join(t.TempDir(), "nothing"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "symbolic link"},
		{"a directory", func(t *testing.T) string { return t.TempDir() }, "not a regular file"},
		{"not base64", func(t *testing.T) string { return write(t, "not a key!", 0o600) }, "not base64"},
		{"too short", func(t *testing.T) string {
			return write(t, base64.StdEncoding.EncodeToString(make([]byte, 16)), 0o600)
		}, "32 bytes"},
		{"all zeros", func(t *testing.T) string {
			return write(t, base64.StdEncoding.EncodeToString(make([]byte, 32)), 0o600)
		}, "zero"},
		{"too long", func(t *testing.T) string { return write(t, strings.Repeat("A", 4096), 0o600) }, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			key, created, err := LoadOrCreateKey(path)
			if err == nil || created || key != "" {
				t.Fatalf("got a key (created %v), %v", created, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), good.Reveal()) {
				t.Fatal("the error quotes the key")
			}
		})
	}
}

func TestFileSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	sink, err := OpenFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, 3)
	f.a.opts.Sink = sink
	f.record(t, 1, 7)
	f.seal(t)
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", info.Mode(), err)
		}
	}
	lines := readLines(t, path)
	if len(lines) != len(f.log.entries) {
		t.Fatalf("%d lines for %d records", len(lines), len(f.log.entries))
	}
	// Each line is the stored record, so the file verifies like the log.
	copyLog := &MemLog{}
	for i, line := range lines {
		if !bytes.Equal(line, f.log.entries[i].Data) {
			t.Fatalf("line %d is not record %d:\n%s\n%s", i+1, i+1, line, f.log.entries[i].Data)
		}
		if _, err := copyLog.Append(context.Background(), uint64(i), line); err != nil {
			t.Fatal(err)
		}
	}
	if rep := f.verify(t, copyLog, f.head); !rep.OK() || rep.Seals < 2 {
		t.Fatalf("the file as a log: %+v", rep)
	}

	// Opening again appends.
	sink, err = OpenFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	f.a.opts.Sink = sink
	f.record(t, 8, 1)
	sink.Close()
	if n := len(readLines(t, path)); n != len(lines)+1 {
		t.Fatalf("%d lines after appending one, want %d", n, len(lines)+1)
	}
	if err := sink.Send(Record{}); err == nil {
		t.Fatal("Send after Close succeeded")
	}
}

func TestFileSinkRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits or unprivileged symbolic links")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nothing"), dangling); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "shared")
	if err := os.WriteFile(shared, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{link, dangling, shared, dir} {
		if s, err := OpenFileSink(path); err == nil {
			s.Close()
			t.Errorf("OpenFileSink(%s) succeeded", filepath.Base(path))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a dangling link's target was created")
	}
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, MaxRecordSize+1)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatal("the file does not end with a newline")
	}
	return lines
}

func TestFileHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.head")
	h := &FileHead{Path: path}
	f := newFixture(t, 3)
	f.a.opts.Head = h
	f.record(t, 1, 10)
	rep := f.verify(t, f.log, h)
	if !rep.OK() || rep.Head == 0 || rep.Head != rep.LastSeal {
		t.Fatalf("%+v", rep)
	}
	if runtime.GOOS != "windows" {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("head file mode %v, %v", info.Mode(), err)
		}
	}
	// The head never moves back.
	old, _ := h.Load(context.Background())
	if err := h.Store(context.Background(), 1, []byte("older")); err != nil {
		t.Fatal(err)
	}
	if now, _ := h.Load(context.Background()); !bytes.Equal(now, old) {
		t.Fatal("an older head replaced a newer one")
	}
	// Cutting the sealed end off a rebuilt log shows.
	l := f.log.clone()
	for seq := rep.Head; seq <= l.end; seq++ {
		l.remove(t, seq)
	}
	if rep := f.verify(t, l.recreate(), h); rep.Problem == nil || rep.Problem.Kind != ProblemTruncated {
		t.Fatalf("truncated: %+v", rep)
	}
	// A missing file is no head.
	if b, err := (&FileHead{Path: path + ".none"}).Load(context.Background()); b != nil || err != nil {
		t.Fatalf("missing head file: %q, %v", b, err)
	}
}
