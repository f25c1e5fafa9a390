package adminapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// Policies is the organisation's policy set; *policy.Store provides it.
type Policies interface {
	Current(ctx context.Context) (*policy.Set, error)
	Replace(ctx context.Context, rules []policy.Rule) (*policy.Set, error)
}

var _ Policies = (*policy.Store)(nil)

// policiesTarget is the target of the audit events of policy changes.
const policiesTarget = "policies"

// listPolicies serves GET /v1/policies.
func (h *Handler) listPolicies(w http.ResponseWriter, r *http.Request) error {
	if h.policies == nil {
		return apierror.New(apierror.Unavailable, "policies are not available on this daemon")
	}
	set, err := h.policies.Current(r.Context())
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the policies cannot be read right now")
	}
	return writeJSON(w, http.StatusOK, policySetView(set))
}

// setPolicies serves PUT /v1/policies: the body's rules replace the set in
// force once they all compile. Audited whichever way it ends.
func (h *Handler) setPolicies(w http.ResponseWriter, r *http.Request) error {
	if h.policies == nil {
		return apierror.New(apierror.Unavailable, "policies are not available on this daemon")
	}
	var req client.PolicySet
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		h.audit(r, audit.ActionPoliciesSet, policiesTarget, string(audit.Denied), map[string]string{"reason": string(apierror.CodeOf(err))})
		return err
	}
	rules := make([]policy.Rule, len(req.Policies))
	names := make([]string, len(req.Policies))
	for i, p := range req.Policies {
		rules[i] = policy.Rule{Name: p.Name, Expression: p.Expression, Message: p.Message, Each: p.Each}
		names[i] = p.Name
	}
	set, err := h.policies.Replace(r.Context(), rules)
	var invalid manifest.ErrorList
	switch {
	case errors.As(err, &invalid):
		// The errors quote only the admin's own rules.
		h.audit(r, audit.ActionPoliciesSet, policiesTarget, string(audit.Denied), map[string]string{"reason": string(apierror.InvalidPolicy)})
		return apierror.Wrap(err, apierror.InvalidPolicy, "the policies were not changed: %s", err.Error())
	case err != nil:
		h.audit(r, audit.ActionPoliciesSet, policiesTarget, string(audit.Failed), map[string]string{"reason": string(apierror.Internal)})
		return err
	}
	view := policySetView(set)
	doc, err := json.Marshal(view)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(doc)
	h.audit(r, audit.ActionPoliciesSet, policiesTarget, "ok", map[string]string{
		"rules": fmt.Sprint(set.Len()), "names": strings.Join(names, ","), "digest": "sha256:" + hex.EncodeToString(sum[:]),
	})
	return writeJSON(w, http.StatusOK, view)
}

func policySetView(set *policy.Set) client.PolicySet {
	out := client.PolicySet{Policies: []client.Policy{}}
	for _, r := range set.Rules() {
		out.Policies = append(out.Policies, client.Policy{Name: r.Name, Expression: r.Expression, Message: r.Message, Each: r.Each})
	}
	return out
}
