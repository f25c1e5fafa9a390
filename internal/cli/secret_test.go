package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const secretInfoJSON = `{"name":"STRIPE_KEY","versions":[{"number":1,"created_at":"2026-01-01T00:00:00Z"},{"number":2,"created_at":"2026-02-01T00:00:00Z"}],
	"created_at":"2026-01-01T00:00:00Z","rotated_at":"2026-02-01T00:00:00Z","granted_to":["billing"]}`

func TestSecretCommands(t *testing.T) {
	const value = "sk-test-value-never-printed"
	file := filepath.Join(t.TempDir(), "value.txt")
	if err := os.WriteFile(file, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		args         []string
		stdin        string
		responses    map[string]fakeResponse
		wantRequests []string
		wantStdout   string
		wantCode     int
	}{
		{
			name: "set from stdin, one newline dropped", args: []string{"secret", "set", "STRIPE_KEY"}, stdin: value + "\n",
			responses:    map[string]fakeResponse{"PUT /v1/secrets/STRIPE_KEY": {200, secretInfoJSON}},
			wantRequests: []string{"PUT /v1/secrets/STRIPE_KEY <application/octet-stream, 27 bytes>"},
			wantStdout:   "set secret STRIPE_KEY, version 2\n",
		},
		{
			name: "set from a file", args: []string{"secret", "set", "--file", file, "STRIPE_KEY"},
			responses:    map[string]fakeResponse{"PUT /v1/secrets/STRIPE_KEY": {200, secretInfoJSON}},
			wantRequests: []string{"PUT /v1/secrets/STRIPE_KEY <application/octet-stream, 27 bytes>"},
			wantStdout:   "set secret STRIPE_KEY, version 2\n",
		},
		{name: "value as an argument", args: []string{"secret", "set", "STRIPE_KEY", value}, wantCode: 2},
		{name: "empty value", args: []string{"secret", "set", "STRIPE_KEY"}, stdin: "\n", wantCode: 2},
		{name: "too large", args: []string{"secret", "set", "STRIPE_KEY"}, stdin: strings.Repeat("x", 64<<10+1), wantCode: 2},
		{
			name: "ls", args: []string{"secret", "ls"},
			responses:    map[string]fakeResponse{"GET /v1/secrets": {200, `{"secrets":[` + secretInfoJSON + `]}`}},
			wantRequests: []string{"GET /v1/secrets"},
			wantStdout: "" +
				"NAME        VERSIONS  LATEST  CREATED               LAST ROTATED          GRANTED TO\n" +
				"STRIPE_KEY  2         2       2026-01-01T00:00:00Z  2026-02-01T00:00:00Z  billing\n",
		},
		{
			name: "rm", args: []string{"secret", "rm", "STRIPE_KEY"},
			responses:    map[string]fakeResponse{"DELETE /v1/secrets/STRIPE_KEY": {204, ""}},
			wantRequests: []string{"DELETE /v1/secrets/STRIPE_KEY"},
			wantStdout:   "removed secret STRIPE_KEY\n",
		},
		{
			name: "rotate-master", args: []string{"secret", "rotate-master"},
			responses:    map[string]fakeResponse{"POST /v1/secrets/rotate-master": {200, `{"old_key_id":"aaaa","new_key_id":"bbbb","rewrapped":3}`}},
			wantRequests: []string{"POST /v1/secrets/rotate-master"},
			wantStdout:   "master key aaaa replaced by bbbb; 3 secret versions re-wrapped and read back\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, env := startFakeAPI(t, tt.responses)
			stdout, stderr, code := runPave(t, env, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			if got := api.recorded(); !slices.Equal(got, tt.wantRequests) {
				t.Errorf("requests %q, want %q", got, tt.wantRequests)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.wantStdout)
			}
			if strings.Contains(stdout+stderr, value) {
				t.Error("the value was printed")
			}
		})
	}
}
