package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/posture"
)

// Posture runs the posture rules: over everything deployed, and over a
// deploy before it is recorded.
type Posture interface {
	Report(ctx context.Context) (*posture.Report, error)
	// CheckDeploy returns the findings that refuse the deploy; none when
	// deploys are not checked.
	CheckDeploy(ctx context.Context, m *manifest.Manifest, digest string, wasm []byte) ([]posture.Finding, error)
}

// posture reports the findings of every deployed function:
//
//	GET /v1/posture?format=json|sarif|table
func (h *Handler) posture(w http.ResponseWriter, r *http.Request) error {
	if h.post == nil {
		return apierror.New(apierror.Unavailable, "this daemon runs no posture checks")
	}
	format := r.URL.Query().Get("format")
	var write func(w http.ResponseWriter, rep *posture.Report) error
	switch format {
	case "", "json":
		write = func(w http.ResponseWriter, rep *posture.Report) error {
			w.Header().Set("Content-Type", "application/json")
			return posture.WriteJSON(w, rep)
		}
	case "sarif":
		write = func(w http.ResponseWriter, rep *posture.Report) error {
			w.Header().Set("Content-Type", "application/sarif+json")
			return posture.WriteSARIF(w, rep, posture.SARIFOptions{ToolVersion: h.version})
		}
	case "table":
		write = func(w http.ResponseWriter, rep *posture.Report) error {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			return posture.WriteTable(w, rep)
		}
	default:
		return apierror.New(apierror.BadRequest, "format: json, sarif or table")
	}
	rep, err := h.post.Report(r.Context())
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the posture report cannot be made right now")
	}
	w.Header().Set("Cache-Control", "no-store")
	return write(w, rep)
}

// checkPosture refuses a deploy whose findings reach --deploy-fail-on.
func (h *Handler) checkPosture(ctx context.Context, m *manifest.Manifest, digest string, wasm []byte) error {
	if h.post == nil {
		return nil
	}
	refused, err := h.post.CheckDeploy(ctx, m, digest, wasm)
	if err != nil {
		return err
	}
	if len(refused) == 0 {
		return nil
	}
	parts := make([]string, 0, len(refused))
	for _, f := range refused {
		parts = append(parts, fmt.Sprintf("%s (%s, %s): %s", f.Rule, f.Severity, f.Risk, f.Evidence))
	}
	return apierror.New(apierror.PostureRefused, "the deploy has posture findings at or above the daemon's --deploy-fail-on: %s", strings.Join(parts, "; "))
}
