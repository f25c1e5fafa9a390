package client

import (
	"context"
	"net/http"
	"time"
)

// RotateAdminTokenRequest asks for a new admin token. Grace is how long the
// token in use keeps working, as a Go duration ("1h"); "" or "0s" ends it at
// once.
type RotateAdminTokenRequest struct {
	Grace string `json:"grace,omitempty"`
}

// RotateAdminTokenResponse carries the new admin token: the only time it is
// shown.
type RotateAdminTokenResponse struct {
	Token string `json:"token"`
	// PreviousValidUntil is when the token it replaced stops working; zero
	// when it already has.
	PreviousValidUntil time.Time `json:"previous_valid_until,omitzero"`
}

// RotateAdminToken replaces the admin token, every daemon sharing the store
// accepting the new one at once and the old one for grace.
func (c *Client) RotateAdminToken(ctx context.Context, grace time.Duration) (*RotateAdminTokenResponse, error) {
	var r RotateAdminTokenResponse
	if err := c.do(ctx, http.MethodPost, "/v1/admin/token/rotate", RotateAdminTokenRequest{Grace: grace.String()}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
