package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/registry"
)

// Control quarantines, restores and rolls back functions;
// *registry.Registry provides it, as it does for the admin API.
type Control interface {
	SetQuarantine(ctx context.Context, name string, q *registry.Quarantine) (*registry.Function, error)
	Rollback(ctx context.Context, name string, version int) (*registry.Function, error)
}

var _ Control = (*registry.Registry)(nil)

// actionRoutes are the actions on functions. Each is a page that asks
// first (a GET that changes nothing), then the form's POST, which needs
// the session's CSRF token and an operator or the admin.
func (c *Console) actionRoutes() {
	c.handle("GET "+Prefix+"functions/{name}/quarantine", operatorOnly, c.confirmFunctionAction("quarantine"))
	c.handle("POST "+Prefix+"functions/{name}/quarantine", operatorOnly, c.quarantine)
	c.handle("GET "+Prefix+"functions/{name}/restore", operatorOnly, c.confirmFunctionAction("restore"))
	c.handle("POST "+Prefix+"functions/{name}/restore", operatorOnly, c.restore)
	c.handle("GET "+Prefix+"functions/{name}/rollback/{version}", operatorOnly, c.confirmFunctionAction("rollback"))
	c.handle("POST "+Prefix+"functions/{name}/rollback/{version}", operatorOnly, c.rollback)
}

// confirmData is what an action's confirmation page shows.
type confirmData struct {
	Action   string // quarantine, restore, rollback
	Function *registry.Function
	Version  int // of a rollback
}

func (c *Console) control() (Control, error) {
	if c.d.Control == nil {
		return nil, apierror.New(apierror.Unavailable, "this console cannot change functions")
	}
	return c.d.Control, nil
}

func (c *Console) confirmFunctionAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		if _, err := c.control(); err != nil {
			return err
		}
		name := r.PathValue("name")
		f, ok := c.d.Functions.Get(name)
		if !ok {
			return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
		}
		data := confirmData{Action: action, Function: f}
		switch action {
		case "quarantine":
			if f.Quarantine != nil {
				return apierror.New(apierror.Conflict, "%s is already quarantined", name)
			}
		case "restore":
			if f.Quarantine == nil {
				return apierror.New(apierror.Conflict, "%s is not quarantined", name)
			}
		case "rollback":
			v, err := versionOf(r, f)
			if err != nil {
				return err
			}
			data.Version = v
		}
		c.render(w, http.StatusOK, "confirm", s, data)
		return nil
	}
}

// versionOf is the kept version of f the path names, other than the
// active one.
func versionOf(r *http.Request, f *registry.Function) (int, error) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || f.Version(v) == nil {
		return 0, apierror.New(apierror.BadRequest, "%s keeps no version %q", f.Name, r.PathValue("version"))
	}
	if v == f.Active {
		return 0, apierror.New(apierror.Conflict, "version %d of %s is already active", v, f.Name)
	}
	return v, nil
}

// quarantine disables a function, as 'pave quarantine' does: the gateway
// refuses its calls until it is restored.
func (c *Console) quarantine(w http.ResponseWriter, r *http.Request, s *session) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 500 || strings.ContainsAny(reason, "\r\n") {
		return apierror.New(apierror.BadRequest, "give a reason of 1 to 500 characters on one line")
	}
	by := "admin"
	if s.user != "" {
		by = audit.Ref("user", s.user)
	}
	return c.setQuarantine(w, r, s, &registry.Quarantine{At: c.now().UTC(), By: by, Reason: reason})
}

// restore ends a function's quarantine.
func (c *Console) restore(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.setQuarantine(w, r, s, nil)
}

func (c *Console) setQuarantine(w http.ResponseWriter, r *http.Request, s *session, q *registry.Quarantine) error {
	ctl, err := c.control()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	action, details := audit.ActionRestore, map[string]string{}
	if q != nil {
		action, details["reason"] = audit.ActionQuarantine, q.Reason
	}
	_, err = ctl.SetQuarantine(r.Context(), name, q)
	return c.finishAction(w, r, s, action, name, details, err)
}

// rollback makes a kept version of a function the active one.
func (c *Console) rollback(w http.ResponseWriter, r *http.Request, s *session) error {
	ctl, err := c.control()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	f, ok := c.d.Functions.Get(name)
	if !ok {
		c.audit(r, s, audit.ActionRollback, audit.Ref("function", name), string(audit.Denied), map[string]string{"reason": string(apierror.FunctionNotFound)})
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	}
	v, err := versionOf(r, f)
	if err != nil {
		c.audit(r, s, audit.ActionRollback, audit.Ref("function", name), string(audit.Denied), map[string]string{"reason": apierror.From(err).Message})
		return err
	}
	_, err = ctl.Rollback(r.Context(), name, v)
	return c.finishAction(w, r, s, audit.ActionRollback, name, map[string]string{"version": fmt.Sprint(v)}, err)
}

// finishAction audits an action on function name whichever way it ended,
// and sends the browser back to the function's page.
func (c *Console) finishAction(w http.ResponseWriter, r *http.Request, s *session, action, name string, details map[string]string, err error) error {
	target := audit.Ref("function", name)
	var e *apierror.Error
	switch {
	case errors.Is(err, registry.ErrNotFound):
		e = apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	case errors.Is(err, registry.ErrQuarantine):
		e = apierror.Wrap(err, apierror.Conflict, "%s", strings.TrimPrefix(err.Error(), "quarantine: "))
	case errors.Is(err, registry.ErrVersion):
		e = apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, registry.ErrRouteConflict):
		e = apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		details["reason"] = string(apierror.Internal)
		c.audit(r, s, action, target, string(audit.Failed), details)
		return err
	}
	if e != nil {
		details["reason"] = string(e.Code)
		c.audit(r, s, action, target, string(audit.Denied), details)
		return e
	}
	c.audit(r, s, action, target, string(audit.OK), details)
	http.Redirect(w, r, Prefix+"functions/"+name, http.StatusSeeOther)
	return nil
}
