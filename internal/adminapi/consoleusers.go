package adminapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/secret"
)

// ConsoleUsers are the web console's users.
type ConsoleUsers interface {
	Add(ctx context.Context, name, role string) (secret.Value, *identity.User, error)
	SetRole(ctx context.Context, name, role string) (*identity.User, error)
	ResetPassword(ctx context.Context, name string) (secret.Value, *identity.User, error)
	Remove(ctx context.Context, name string) error
	List() []identity.User
}

var _ ConsoleUsers = (*identity.Users)(nil)

// Audited actions on console users.
const (
	ActionConsoleUserAdd    = "console.user_add"
	ActionConsoleUserRemove = "console.user_remove"
	ActionConsoleUserRole   = "console.user_role"
	ActionConsoleUserReset  = "console.user_password"
)

// addConsoleUser creates a console user and answers with its password,
// shown this once:
//
//	POST /v1/console/users {"name": "alice", "role": "viewer"}
func (h *Handler) addConsoleUser(w http.ResponseWriter, r *http.Request) error {
	if h.users == nil {
		return apierror.New(apierror.Unavailable, "this daemon has no console users")
	}
	var req client.CreateConsoleUserRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	password, u, err := h.users.Add(r.Context(), req.Name, req.Role)
	switch {
	case errors.Is(err, identity.ErrInvalidUser):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, identity.ErrUserExists):
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.audit(r, ActionConsoleUserAdd, audit.Ref("user", u.Name), "ok", map[string]string{"role": u.Role})
	return writeJSON(w, http.StatusCreated, client.CreateConsoleUserResponse{User: userView(u), Password: password.Reveal()})
}

// GET /v1/console/users
func (h *Handler) listConsoleUsers(w http.ResponseWriter, _ *http.Request) error {
	if h.users == nil {
		return apierror.New(apierror.Unavailable, "this daemon has no console users")
	}
	users := h.users.List()
	out := client.ConsoleUserList{Users: make([]client.ConsoleUser, 0, len(users))}
	for i := range users {
		out.Users = append(out.Users, userView(&users[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// setConsoleUserRole changes a console user's role; the console ends their
// sessions at their next request.
//
//	PATCH /v1/console/users/{name} {"role": "operator"}
func (h *Handler) setConsoleUserRole(w http.ResponseWriter, r *http.Request) error {
	if h.users == nil {
		return apierror.New(apierror.Unavailable, "this daemon has no console users")
	}
	var req client.UpdateConsoleUserRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	u, err := h.users.SetRole(r.Context(), name, req.Role)
	switch {
	case errors.Is(err, identity.ErrInvalidUser):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, identity.ErrUserNotFound):
		return apierror.New(apierror.UserNotFound, "no console user named %q", name)
	case errors.Is(err, identity.ErrUserChanged):
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.audit(r, ActionConsoleUserRole, audit.Ref("user", u.Name), "ok", map[string]string{"role": u.Role})
	return writeJSON(w, http.StatusOK, userView(u))
}

// resetConsoleUserPassword gives a console user a new generated password,
// answered this once; the console ends their sessions at their next
// request.
//
//	POST /v1/console/users/{name}/password
func (h *Handler) resetConsoleUserPassword(w http.ResponseWriter, r *http.Request) error {
	if h.users == nil {
		return apierror.New(apierror.Unavailable, "this daemon has no console users")
	}
	name := r.PathValue("name")
	password, u, err := h.users.ResetPassword(r.Context(), name)
	switch {
	case errors.Is(err, identity.ErrUserNotFound):
		return apierror.New(apierror.UserNotFound, "no console user named %q", name)
	case errors.Is(err, identity.ErrUserChanged):
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.audit(r, ActionConsoleUserReset, audit.Ref("user", u.Name), "ok", nil)
	return writeJSON(w, http.StatusOK, client.CreateConsoleUserResponse{User: userView(u), Password: password.Reveal()})
}

// removeConsoleUser removes a console user; the console ends its sessions
// at their next request.
//
//	DELETE /v1/console/users/{name}
func (h *Handler) removeConsoleUser(w http.ResponseWriter, r *http.Request) error {
	if h.users == nil {
		return apierror.New(apierror.Unavailable, "this daemon has no console users")
	}
	name := r.PathValue("name")
	err := h.users.Remove(r.Context(), name)
	if errors.Is(err, identity.ErrUserNotFound) {
		return apierror.New(apierror.UserNotFound, "no console user named %q", name)
	}
	if err != nil {
		return err
	}
	h.audit(r, ActionConsoleUserRemove, audit.Ref("user", name), "ok", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func userView(u *identity.User) client.ConsoleUser {
	return client.ConsoleUser{Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt}
}
