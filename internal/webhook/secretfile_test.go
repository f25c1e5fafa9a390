package webhook

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/config"
)

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	const secret = "whsec-not-to-be-quoted"
	good := write("good", "\n"+secret+"\n  second-secret \n\n", 0o600)
	got, err := SecretFiles{}.WebhookSecrets(good)
	if err != nil || len(got) != 2 || got[0] != config.Secret(secret) || got[1] != "second-secret" {
		t.Fatalf("the good file: %d secrets, %v; want the two lines", len(got), err)
	}
	if got, err := (SecretFiles{}).WebhookSecrets(write("ro", secret, 0o400)); err != nil || len(got) != 1 {
		t.Fatalf("a 0400 file: %d secrets, %v", len(got), err)
	}

	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		unixOnly         bool
	}{
		{"a link to a good file", link, "symbolic link", false},
		{"world readable", write("0644", secret, 0o644), "chmod 600", true},
		{"group readable", write("0640", secret, 0o640), "other users", true},
		{"a directory", t.TempDir(), "not a regular file", false},
		{"too long", write("long", secret+"\n"+strings.Repeat("A", MaxSecretFile), 0o600), "longer than 65536 bytes", false},
		{"empty", write("empty", " \n\n", 0o600), "is empty", false},
		{"too many", write("many", strings.Repeat(secret+"\n", MaxSecrets+1), 0o600), "at most 8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && runtime.GOOS == "windows" {
				t.Skip("no permission bits")
			}
			got, err := SecretFiles{}.WebhookSecrets(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WebhookSecrets = %d secrets, %v; want an error saying %q", len(got), err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("the error should name the file and not quote it: %v", err)
			}
		})
	}
	if _, err := (SecretFiles{}).WebhookSecrets(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
}
