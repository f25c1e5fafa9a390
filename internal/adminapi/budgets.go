package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/budgets"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/manifest"
)

// Budgets are the operator's budget overrides and the spending against
// them.
type Budgets interface {
	Set(ctx context.Context, subject string, b limits.Budget) error
	Clear(ctx context.Context, subject string) error
	Forget(ctx context.Context, subject string) error
	Overrides() []budgets.Override
	Usage(subject string) (limits.Usage, bool)
}

var _ Budgets = (*budgets.Store)(nil)

// budgetStatus describes subject's budget b and its spending.
func (h *Handler) budgetStatus(subject string, b limits.Budget, source string) client.BudgetStatus {
	st := client.BudgetStatus{Subject: subject, Budget: budgetView(b), Source: source}
	if u, ok := h.budgets.Usage(subject); ok {
		st.Spent = &client.Budget{Window: string(b.Window), Invocations: u.Invocations, ComputeGBSeconds: u.ComputeGBs, RequestBytes: u.RequestBytes}
		ws := u.WindowStart
		st.WindowStart = &ws
	}
	return st
}

func budgetView(b limits.Budget) client.Budget {
	return client.Budget{Window: string(b.Window), Invocations: b.Invocations, ComputeGBSeconds: b.ComputeGBs, RequestBytes: b.RequestBytes}
}

func (h *Handler) listBudgets(w http.ResponseWriter, _ *http.Request) error {
	if h.budgets == nil {
		return apierror.New(apierror.Unavailable, "budgets are not available on this daemon")
	}
	out := client.BudgetList{Budgets: []client.BudgetStatus{}}
	seen := map[string]bool{}
	for _, o := range h.budgets.Overrides() {
		out.Budgets = append(out.Budgets, h.budgetStatus(o.Subject, o.Budget, "override"))
		seen[o.Subject] = true
	}
	for _, f := range h.reg.List() {
		subject := "function:" + f.Name
		if seen[subject] {
			continue
		}
		if b := f.Current().Budget; b != nil {
			out.Budgets = append(out.Budgets, h.budgetStatus(subject, *b, "manifest"))
		} else {
			out.Budgets = append(out.Budgets, h.budgetStatus(subject, h.defaultBudget, "default"))
		}
	}
	sort.Slice(out.Budgets, func(i, j int) bool { return out.Budgets[i].Subject < out.Budgets[j].Subject })
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) setBudget(w http.ResponseWriter, r *http.Request) error {
	if h.budgets == nil {
		return apierror.New(apierror.Unavailable, "budgets are not available on this daemon")
	}
	var req client.Budget
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	subject := r.PathValue("subject")
	b := limits.Budget{Window: limits.Window(req.Window), Invocations: req.Invocations, ComputeGBs: req.ComputeGBSeconds, RequestBytes: req.RequestBytes}
	if b.Window == "" {
		b.Window = manifest.DefaultBudgetWindow
	}
	err := h.budgets.Set(r.Context(), subject, b)
	if errors.Is(err, budgets.ErrInvalid) {
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	h.log.Info("budget set", "audit", true, "subject", subject, "window", b.Window, "invocations", b.Invocations,
		"compute_gb_seconds", b.ComputeGBs, "request_bytes", b.RequestBytes, "request_id", requestID(r))
	h.audit(r, audit.ActionBudgetSet, subject, "ok", map[string]string{"window": string(b.Window),
		"invocations": fmt.Sprint(b.Invocations), "compute_gb_seconds": fmt.Sprint(b.ComputeGBs), "request_bytes": fmt.Sprint(b.RequestBytes)})
	return writeJSON(w, http.StatusOK, h.budgetStatus(subject, b, "override"))
}

func (h *Handler) clearBudget(w http.ResponseWriter, r *http.Request) error {
	if h.budgets == nil {
		return apierror.New(apierror.Unavailable, "budgets are not available on this daemon")
	}
	subject := r.PathValue("subject")
	err := h.budgets.Clear(r.Context(), subject)
	if errors.Is(err, budgets.ErrInvalid) {
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	h.log.Info("budget cleared", "audit", true, "subject", subject, "request_id", requestID(r))
	h.audit(r, audit.ActionBudgetClear, subject, "ok", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
