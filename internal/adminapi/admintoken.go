package adminapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/secret"
)

// AdminTokens rotates the admin token.
type AdminTokens interface {
	Rotate(ctx context.Context, grace time.Duration) (secret.Value, time.Time, error)
}

// rotateAdminToken makes a new admin token, answered this once; the old one
// keeps working for the grace period asked:
//
//	POST /v1/admin/token/rotate {"grace": "1h"}
func (h *Handler) rotateAdminToken(w http.ResponseWriter, r *http.Request) error {
	if h.tokens == nil {
		return apierror.New(apierror.Unavailable, "this daemon cannot rotate its admin token")
	}
	var req client.RotateAdminTokenRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	var grace time.Duration
	if req.Grace != "" {
		d, err := time.ParseDuration(req.Grace)
		if err != nil {
			return apierror.Wrap(err, apierror.BadRequest, "grace: want a duration such as 1h")
		}
		grace = d
	}
	token, until, err := h.tokens.Rotate(r.Context(), grace)
	if errors.Is(err, identity.ErrInvalidGrace) {
		return apierror.Wrap(err, apierror.BadRequest, "grace: want 0 to %s", identity.MaxAdminGrace)
	}
	if err != nil {
		h.audit(r, audit.ActionAdminTokenRotate, "", "failed", nil)
		return err
	}
	h.audit(r, audit.ActionAdminTokenRotate, "", "ok", map[string]string{"grace": grace.String()})
	return writeJSON(w, http.StatusOK, client.RotateAdminTokenResponse{Token: token.Reveal(), PreviousValidUntil: until})
}
