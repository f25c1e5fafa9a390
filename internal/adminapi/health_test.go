package adminapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/pave-dev/pave/internal/adminapi"
)

// storeState is a Health reporting a fixed state.
type storeState struct {
	ok    bool
	state map[string]any
}

func (s storeState) Health() (bool, any) { return s.ok, s.state }

// TestHealthReportsTheStore: 200 ok while the store answers, 503
// unavailable with the part that is down and Retry-After while it does
// not, and 200 ok with no Health at all.
func TestHealthReportsTheStore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		health     adminapi.Health
		status     int
		body       string
		retryAfter string
	}{
		{"up", storeState{true, map[string]any{"connected": true}}, 200, `{"status":"ok","store":{"connected":true}}`, ""},
		{"down", storeState{false, map[string]any{"connected": true, "down": []string{"KV_pave_secrets"}}}, 503,
			`{"status":"unavailable","store":{"connected":true,"down":["KV_pave_secrets"]}}`, "5"},
		{"no health", nil, 200, `{"status":"ok"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := adminapi.New(adminapi.Deps{Auth: tokenAuth("token"), Health: tc.health, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/health", nil))
			var got, want any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tc.body), &want)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if w.Code != tc.status || string(gotJSON) != string(wantJSON) || w.Header().Get("Retry-After") != tc.retryAfter {
				t.Errorf("GET /v1/health = %d %s (Retry-After %q), want %d %s (%q)", w.Code, gotJSON, w.Header().Get("Retry-After"), tc.status, wantJSON, tc.retryAfter)
			}
		})
	}
}
