package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/keyfile/keyfiletest"
)

func TestResolveClient(t *testing.T) {
	type file struct {
		name, content string
		mode          os.FileMode
	}
	tests := []struct {
		name      string
		env       map[string]string
		files     []file
		want      Client
		wantErr   string // substring; empty means success
		unixOnly  bool
		noDataDir bool
	}{
		{
			name: "environment only",
			env:  map[string]string{EnvAdminURL: "http://10.0.0.1:8081/", EnvToken: "env-token"},
			want: Client{AdminURL: "http://10.0.0.1:8081", Token: "env-token"},
		},
		{
			name: "files only, whitespace trimmed",
			files: []file{
				{"admin.url", "http://127.0.0.1:8081\n", 0o644},
				{"admin.token", "  file-token\n", 0o600},
			},
			want: Client{AdminURL: "http://127.0.0.1:8081", Token: "file-token"},
		},
		{
			name: "environment wins over files",
			env:  map[string]string{EnvAdminURL: "https://pave.example:8443", EnvToken: "env-token"},
			files: []file{
				{"admin.url", "http://127.0.0.1:8081", 0o644},
				{"admin.token", "file-token", 0o600},
			},
			want: Client{AdminURL: "https://pave.example:8443", Token: "env-token"},
		},
		{
			name:  "token from environment, URL from file",
			env:   map[string]string{EnvToken: "env-token"},
			files: []file{{"admin.url", "http://127.0.0.1:9999", 0o644}},
			want:  Client{AdminURL: "http://127.0.0.1:9999", Token: "env-token"},
		},
		{
			name:      "no daemon",
			noDataDir: true,
			wantErr:   "cannot find the pave daemon: set PAVE_ADMIN_URL and PAVE_TOKEN, or pass --data DIR of a running daemon (no ",
		},
		{
			name:    "URL but no token",
			files:   []file{{"admin.url", "http://127.0.0.1:8081", 0o644}},
			wantErr: "cannot find the admin token: set PAVE_TOKEN",
		},
		{
			name: "token file readable by others",
			files: []file{
				{"admin.url", "http://127.0.0.1:8081", 0o644},
				{"admin.token", "file-token", 0o644},
			},
			wantErr:  "mode 0644 lets other users access it; run chmod 600 ",
			unixOnly: true,
		},
		{
			name: "token file readable by group",
			files: []file{
				{"admin.url", "http://127.0.0.1:8081", 0o644},
				{"admin.token", "file-token", 0o640},
			},
			wantErr:  "run chmod 600",
			unixOnly: true,
		},
		{
			name: "empty token file",
			files: []file{
				{"admin.url", "http://127.0.0.1:8081", 0o644},
				{"admin.token", "\n", 0o600},
			},
			wantErr: "admin.token is empty",
		},
		{
			name: "token file too long",
			files: []file{
				{"admin.url", "http://127.0.0.1:8081", 0o644},
				{"admin.token", strings.Repeat("t", MaxTokenFile+1), 0o600},
			},
			wantErr: "is longer than 4096 bytes",
		},
		{
			name:    "URL without scheme",
			env:     map[string]string{EnvAdminURL: "127.0.0.1:8081", EnvToken: "t"},
			wantErr: `admin URL "127.0.0.1:8081": want http://host:port`,
		},
		{
			name:    "URL with another scheme",
			env:     map[string]string{EnvAdminURL: "nats://127.0.0.1:4222", EnvToken: "t"},
			wantErr: "want http://host:port",
		},
		{
			name:    "URL with credentials",
			env:     map[string]string{EnvAdminURL: "http://admin:hunter2@127.0.0.1:8081", EnvToken: "t"},
			wantErr: "credentials in the URL are not supported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && runtime.GOOS == "windows" {
				t.Skip("no group or other permission bits on Windows")
			}
			dir := t.TempDir()
			if tt.noDataDir {
				dir = filepath.Join(dir, "missing")
			}
			for _, f := range tt.files {
				p := filepath.Join(dir, f.name)
				if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
					t.Fatal(err)
				}
				// WriteFile's mode is subject to the umask; set it exactly.
				if err := os.Chmod(p, f.mode); err != nil {
					t.Fatal(err)
				}
			}
			getenv := func(k string) string { return tt.env[k] }

			got, err := ResolveClient(dir, getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveClient error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q shows the URL's password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveClient: %v", err)
			}
			if got.AdminURL != tt.want.AdminURL || got.Token.Reveal() != tt.want.Token.Reveal() {
				t.Errorf("ResolveClient = {%s, %s}, want {%s, %s}",
					got.AdminURL, got.Token.Reveal(), tt.want.AdminURL, tt.want.Token.Reveal())
			}
		})
	}
}

// TestReadTokenFileRefusals attacks the admin token file as keyfile's
// readers are attacked: each must be refused without quoting the token.
func TestReadTokenFileRefusals(t *testing.T) {
	const token = "pave-admin-token-not-to-be-quoted"
	good, attacks := keyfiletest.Attacks(t, token, MaxTokenFile)
	if got, err := ReadTokenFile(good); err != nil || got != token {
		t.Fatalf("the good file: %v; want the token", err)
	}
	keyfiletest.Refuses(t, token, attacks, func(path string) error {
		_, err := ReadTokenFile(path)
		return err
	})
}
