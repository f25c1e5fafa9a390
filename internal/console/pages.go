package console

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/identity"
	"github.com/pave-dev/pave/internal/posture"
)

// severityGroup is the findings of one severity.
type severityGroup struct {
	Severity string
	Findings []posture.Finding
}

type postureData struct {
	Generated time.Time
	Functions int
	Groups    []severityGroup
}

func (c *Console) report(r *http.Request) (*posture.Report, error) {
	if c.d.Posture == nil {
		return nil, apierror.New(apierror.Unavailable, "this daemon runs no posture checks")
	}
	rep, err := c.d.Posture.Report(r.Context())
	if err != nil {
		return nil, apierror.Wrap(err, apierror.Unavailable, "the posture report cannot be made right now")
	}
	return rep, nil
}

func (c *Console) posture(w http.ResponseWriter, r *http.Request, s *session) error {
	rep, err := c.report(r)
	if err != nil {
		return err
	}
	data := postureData{Generated: rep.Generated, Functions: rep.Functions}
	sevs := posture.Severities()
	for i := len(sevs) - 1; i >= 0; i-- {
		g := severityGroup{Severity: sevs[i].String()}
		for _, f := range rep.Findings {
			if f.Severity == sevs[i] {
				g.Findings = append(g.Findings, f)
			}
		}
		data.Groups = append(data.Groups, g)
	}
	c.render(w, http.StatusOK, "posture", s, data)
	return nil
}

// sarif downloads the posture report as SARIF.
func (c *Console) sarif(w http.ResponseWriter, r *http.Request, _ *session) error {
	rep, err := c.report(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := posture.WriteSARIF(&buf, rep, posture.SARIFOptions{ToolVersion: c.d.Version}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/sarif+json")
	w.Header().Set("Content-Disposition", `attachment; filename="pave-posture.sarif"`)
	_, _ = w.Write(buf.Bytes())
	return nil
}

type auditData struct {
	Query, Since string
	Spans        []string
	Verify       *audit.VerifyReport
	VerifyError  string
	Events       []audit.Event
	More         bool
}

// auditSpans are the spans the audit page offers; "" is the whole log.
var auditSpans = []string{"1h", "24h", "168h", "720h", ""}

// maxAuditRows bounds the events the audit page shows, newest first.
const maxAuditRows = 500

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.d.AuditLog == nil {
		return apierror.New(apierror.Unavailable, "this daemon keeps no audit log")
	}
	q := r.URL.Query()
	data := auditData{Query: strings.TrimSpace(q.Get("q")), Since: q.Get("since"), Spans: auditSpans}
	if !q.Has("since") {
		data.Since = "24h"
	}
	if !slices.Contains(auditSpans, data.Since) {
		return apierror.New(apierror.BadRequest, "since: one of 1h, 24h, 168h, 720h or empty for the whole log")
	}
	var since time.Time
	if data.Since != "" {
		d, _ := time.ParseDuration(data.Since)
		since = c.now().Add(-d)
	}
	if rep, err := c.d.AuditLog.Verify(r.Context()); err != nil {
		c.log.Warn("console: audit log not verified", "err", err)
		data.VerifyError = "The audit log cannot be verified right now."
	} else {
		data.Verify = &rep
	}
	needle := strings.ToLower(data.Query)
	err := c.d.AuditLog.Events(r.Context(), since, func(e audit.Event) error {
		if needle != "" && !strings.Contains(eventText(e), needle) {
			return nil
		}
		data.Events = append(data.Events, e)
		if len(data.Events) > 2*maxAuditRows {
			data.Events = slices.Delete(data.Events, 0, len(data.Events)-maxAuditRows)
			data.More = true
		}
		return nil
	})
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the audit log cannot be read right now")
	}
	if len(data.Events) > maxAuditRows {
		data.Events = data.Events[len(data.Events)-maxAuditRows:]
		data.More = true
	}
	slices.Reverse(data.Events)
	c.render(w, http.StatusOK, "audit", s, data)
	return nil
}

// eventText is what a search of the audit log looks in, in lower case.
func eventText(e audit.Event) string {
	var b strings.Builder
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Source, string(e.Outcome)} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	for k, v := range e.Details {
		b.WriteString(k + "=" + v + "\n")
	}
	return strings.ToLower(b.String())
}

type keysData struct {
	Now  time.Time
	Keys []identity.Key
}

func (c *Console) keys(w http.ResponseWriter, _ *http.Request, s *session) error {
	keys := c.d.Keys.List()
	slices.SortFunc(keys, func(a, b identity.Key) int { return strings.Compare(a.Name, b.Name) })
	c.render(w, http.StatusOK, "keys", s, keysData{Now: c.now(), Keys: keys})
	return nil
}

// key finds the key the path names.
func (c *Console) key(r *http.Request) (*identity.Key, error) {
	name := r.PathValue("name")
	for _, k := range c.d.Keys.List() {
		if k.Name == name {
			return &k, nil
		}
	}
	return nil, apierror.New(apierror.KeyNotFound, "no key named %q", name)
}

// confirmRevoke asks before revoking: the action is the form's POST.
func (c *Console) confirmRevoke(w http.ResponseWriter, r *http.Request, s *session) error {
	k, err := c.key(r)
	if err != nil {
		return err
	}
	if k.RevokedAt != nil {
		return apierror.New(apierror.Conflict, "key %q is already revoked", k.Name)
	}
	c.render(w, http.StatusOK, "revoke", s, k)
	return nil
}

// revoke revokes a key, audited whichever way it ends.
func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	target := audit.Ref("key", name)
	err := c.d.Keys.Revoke(r.Context(), name)
	if errors.Is(err, identity.ErrKeyNotFound) {
		c.audit(r, s, audit.ActionKeyRevoke, target, string(audit.Denied), map[string]string{"reason": string(apierror.KeyNotFound)})
		return apierror.New(apierror.KeyNotFound, "no key named %q", name)
	}
	if err != nil {
		c.audit(r, s, audit.ActionKeyRevoke, target, string(audit.Failed), map[string]string{"reason": string(apierror.Internal)})
		return err
	}
	c.audit(r, s, audit.ActionKeyRevoke, target, string(audit.OK), nil)
	http.Redirect(w, r, Prefix+"keys", http.StatusSeeOther)
	return nil
}
