package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ConsoleUser is a web console user's metadata; its password is never
// returned after creation.
type ConsoleUser struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"` // "viewer" or "operator"
	CreatedAt time.Time `json:"created_at"`
}

// CreateConsoleUserRequest creates a console user with a role.
type CreateConsoleUserRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// CreateConsoleUserResponse carries the user's generated password: the
// only time it is shown.
type CreateConsoleUserResponse struct {
	User     ConsoleUser `json:"user"`
	Password string      `json:"password"`
}

// UpdateConsoleUserRequest changes a console user's role.
type UpdateConsoleUserRequest struct {
	Role string `json:"role"`
}

// ConsoleUserList is the body of GET /v1/console/users.
type ConsoleUserList struct {
	Users []ConsoleUser `json:"users"`
}

// CreateConsoleUser creates a web console user. The response carries its
// generated password: the daemon keeps only an argon2id hash of it.
func (c *Client) CreateConsoleUser(ctx context.Context, req CreateConsoleUserRequest) (*CreateConsoleUserResponse, error) {
	var r CreateConsoleUserResponse
	if err := c.do(ctx, http.MethodPost, "/v1/console/users", req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListConsoleUsers returns every web console user.
func (c *Client) ListConsoleUsers(ctx context.Context) ([]ConsoleUser, error) {
	var list ConsoleUserList
	if err := c.do(ctx, http.MethodGet, "/v1/console/users", nil, &list); err != nil {
		return nil, err
	}
	return list.Users, nil
}

// SetConsoleUserRole changes a web console user's role, keeping their
// password, and ends their sessions.
func (c *Client) SetConsoleUserRole(ctx context.Context, name, role string) (*ConsoleUser, error) {
	var u ConsoleUser
	if err := c.do(ctx, http.MethodPatch, "/v1/console/users/"+url.PathEscape(name), UpdateConsoleUserRequest{Role: role}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// ResetConsoleUserPassword gives a web console user a new generated
// password, in the response alone, and ends their sessions.
func (c *Client) ResetConsoleUserPassword(ctx context.Context, name string) (*CreateConsoleUserResponse, error) {
	var r CreateConsoleUserResponse
	if err := c.do(ctx, http.MethodPost, "/v1/console/users/"+url.PathEscape(name)+"/password", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RemoveConsoleUser removes a web console user and ends its sessions.
func (c *Client) RemoveConsoleUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/console/users/"+url.PathEscape(name), nil, nil)
}
