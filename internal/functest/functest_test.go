package functest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/functest"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/testguests"
)

// examples/notes uses a secret, a bucket and an outbound host: each case
// file fakes them, and the manifest's grants still apply.
func TestRunNotes(t *testing.T) {
	wasm := testguests.Example(t, "notes")
	m, err := manifest.ParseFile(filepath.Join(testguests.ExampleDir(t, "notes"), "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fixture string
		failed  int
		want    []string
	}{
		{"capabilities faked", `
secrets: {NOTES_WEBHOOK_URL: https://hooks.slack.com/services/T0/B0/x}
kv: {notes: {note/0123456789abcdef: '{"text":"old"}'}}
http:
  https://hooks.slack.com/services/T0/B0/x: {status: 200, body: ok}
tests:
  - name: a stored note
    request: {method: GET, path: /notes/0123456789abcdef, route: "/notes/{id}", params: {id: 0123456789abcdef}}
    status: 200
    body: '{"text":"old"}'
  - name: a new note, announced
    request: {method: POST, path: /notes, body: '{"text":"new"}'}
    status: 201
    body_contains: '"announced":true'
  - name: both listed
    request: {method: GET, path: /notes}
    status: 200
    body_contains: '0123456789abcdef'
`, 0, []string{"ok   a stored note", "ok   a new note, announced", "3 passed, 0 failed"}},
		{"no answer, a wrong status and a wrong body", `
secrets: {NOTES_WEBHOOK_URL: https://hooks.slack.com/services/T0/B0/x}
tests:
  - name: not announced
    request: {method: POST, path: /notes, body: '{"text":"new"}'}
    status: 201
    body_contains: '"announced":true'
  - name: wrong status
    request: {method: GET, path: /notes/0123456789abcdef, route: "/notes/{id}", params: {id: 0123456789abcdef}}
    status: 200
`, 2, []string{"FAIL not announced", `does not contain "\"announced\":true"`, "FAIL wrong status", "status 404, want 200", "0 passed, 2 failed"}},
		{"a host not granted", `
secrets: {NOTES_WEBHOOK_URL: https://evil.example.com/x}
http:
  https://evil.example.com/x: {status: 200}
tests:
  - name: denied
    request: {method: POST, path: /notes, body: '{"text":"new"}'}
    status: 201
    body_contains: '"announced":false'
`, 0, []string{"ok   denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx, err := functest.ParseFixture("pave.test.yaml", []byte(tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			failed, err := functest.Run(context.Background(), m, wasm, fx, "", &out)
			if err != nil || failed != tt.failed {
				t.Fatalf("Run: %d failed, %v; want %d\n%s", failed, err, tt.failed, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestParseFixtureRefuses(t *testing.T) {
	tests := []struct{ fixture, want string }{
		{"", "no tests"},
		{"tests: [{name: a}]", "status 0"},
		{"tests: [{status: 200}]", "a test needs a name"},
		{"tests: [{name: a, status: 200, topic: t, schedule: true}]", "not both"},
		{"tests: [{name: a, status: 200, stauts: 1}]", "field stauts not found"},
		{"http: {https://x.example/: {status: 0}}\ntests: [{name: a, status: 200}]", "want 100 to 599"},
	}
	for _, tt := range tests {
		if _, err := functest.ParseFixture("f.yaml", []byte(tt.fixture)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.fixture, err, tt.want)
		}
	}
}
