package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/registry"
)

// inventoryRow is one function of the inventory.
type inventoryRow struct {
	Name, Owner   string
	Version       int
	Routes        []string
	Public        bool
	Grants        []string
	Triggers      []string
	LastInvoked   time.Time
	Days7, Days30 int64
	Isolation     string
	IsolationNote string
	Quarantined   bool
	Unused        bool
	UnusedGrants  []string
}

type functionsData struct {
	Now            time.Time
	Functions      []inventoryRow
	PostureMissing string // why unused functions and grants are not flagged
}

func (c *Console) functions(w http.ResponseWriter, r *http.Request, s *session) error {
	fns := c.d.Functions.List()
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	findings, why := c.findings(r.Context())
	data := functionsData{Now: c.now(), PostureMissing: why}
	for _, f := range fns {
		data.Functions = append(data.Functions, c.inventoryRow(f, findings[f.Name]))
	}
	c.render(w, http.StatusOK, "functions", s, data)
	return nil
}

// findings are the posture findings by function; why says, when there
// are none to tell, why not.
func (c *Console) findings(ctx context.Context) (map[string][]posture.Finding, string) {
	if c.d.Posture == nil {
		return nil, "This daemon runs no posture checks."
	}
	rep, err := c.d.Posture.Report(ctx)
	if err != nil {
		c.log.Warn("console: posture report failed", "err", err)
		return nil, "The posture report cannot be made right now."
	}
	out := map[string][]posture.Finding{}
	for _, f := range rep.Findings {
		out[f.Function] = append(out[f.Function], f)
	}
	return out, ""
}

func (c *Console) inventoryRow(f *registry.Function, findings []posture.Finding) inventoryRow {
	v := f.Current()
	row := inventoryRow{
		Name: f.Name, Owner: f.Owner, Version: f.Active, Isolation: v.Isolation, IsolationNote: v.IsolationNote,
		Quarantined: f.Quarantine != nil, Grants: grants(v.Capabilities), Triggers: triggers(v.Triggers),
	}
	for _, rt := range v.Routes {
		row.Routes = append(row.Routes, rt.Method+" "+rt.Path)
		row.Public = row.Public || rt.Public
	}
	row.LastInvoked, _ = c.d.Usage.LastInvoked(f.Name)
	row.Days7, row.Days30 = c.d.Usage.Invocations(f.Name, 7), c.d.Usage.Invocations(f.Name, 30)
	for _, fd := range findings {
		switch fd.Rule {
		case posture.RuleUnusedFunction:
			row.Unused = true
		case posture.RuleUnusedGrant:
			row.UnusedGrants = append(row.UnusedGrants, fd.Subject)
		}
	}
	return row
}

// grants lists a version's capability grants, one per group.
func grants(c manifest.Capabilities) []string {
	var out []string
	if len(c.Secrets) > 0 {
		out = append(out, "secrets: "+strings.Join(c.Secrets, ", "))
	}
	if len(c.KV) > 0 {
		buckets := make([]string, 0, len(c.KV))
		for b, access := range c.KV {
			buckets = append(buckets, b+" ("+access+")")
		}
		sort.Strings(buckets)
		out = append(out, "kv: "+strings.Join(buckets, ", "))
	}
	if len(c.HTTP) > 0 {
		out = append(out, "http: "+strings.Join(c.HTTP, ", "))
	}
	if len(c.Invoke) > 0 {
		out = append(out, "invoke: "+strings.Join(c.Invoke, ", "))
	}
	if len(c.Publish) > 0 {
		out = append(out, "publish: "+strings.Join(c.Publish, ", "))
	}
	return out
}

func triggers(ts []manifest.Trigger) []string {
	var out []string
	for _, t := range ts {
		if t.Topic != "" {
			out = append(out, "topic "+t.Topic)
		} else {
			out = append(out, fmt.Sprintf("schedule %s (%s)", t.Schedule, t.Timezone))
		}
	}
	return out
}

// functionData is one function's page.
type functionData struct {
	Now            time.Time
	Row            inventoryRow
	Description    string
	Quarantine     *registry.Quarantine
	Versions       []versionRow
	Routes         []routeRow
	Limits         manifest.Limits
	Charts         []chart
	Calls          []observe.Record
	CallsMissing   string
	Errors         []errorGroup // the week's failures, grouped by kind
	Findings       []posture.Finding
	PostureMissing string
}

type versionRow struct {
	registry.Version
	Active bool
}

type routeRow struct {
	Method, Path, Auth string
	Public             bool
	Scopes             []string
	Schema             string
	Unredacted         string
	Rate               string
}

// recentCalls is how many calls a function's page shows, newest first.
const recentCalls = 50

func (c *Console) function(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	f, ok := c.d.Functions.Get(name)
	if !ok {
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	}
	findings, why := c.findings(r.Context())
	v := f.Current()
	data := functionData{
		Now: c.now(), Row: c.inventoryRow(f, findings[f.Name]), Description: f.Description, Quarantine: f.Quarantine,
		Limits: v.Limits, Findings: findings[f.Name], PostureMissing: why,
	}
	for i := len(f.Versions) - 1; i >= 0; i-- {
		data.Versions = append(data.Versions, versionRow{Version: f.Versions[i], Active: f.Versions[i].Number == f.Active})
	}
	for _, rt := range v.Routes {
		data.Routes = append(data.Routes, routeView(rt, v.RateLimit))
	}
	errs := newErrorGroups()
	data.Calls, data.CallsMissing = c.recent(r.Context(), f.Name, errs.add)
	data.Errors = errs.list()
	if c.d.History != nil {
		t := newTraffic(data.Now)
		if err := c.readTraffic(r.Context(), f.Name, t); err != nil {
			c.log.Warn("console: history not read", "function", f.Name, "err", err)
		} else {
			data.Charts = []chart{
				trafficChart("calls-hour", "Calls of "+f.Name+", last hour", t.hour),
				durationChart("duration-hour", "Duration p50 and p99 of "+f.Name+", last hour", t.hour),
				trafficChart("calls-day", "Calls of "+f.Name+", last day", t.day),
				durationChart("duration-day", "Duration p50 and p99 of "+f.Name+", last day", t.day),
				refusalChart(t.refusals),
			}
		}
	}
	c.render(w, http.StatusOK, "function", s, data)
	return nil
}

func routeView(rt manifest.Route, rl manifest.RateLimits) routeRow {
	row := routeRow{Method: rt.Method, Path: rt.Path, Auth: rt.Auth, Public: rt.Public, Scopes: rt.Scopes, Unredacted: rt.Unredacted, Schema: "none"}
	if rt.Public {
		row.Auth = "none (public)"
	}
	var schemas []string
	if rt.Schema != nil && rt.Schema.Body != nil {
		schemas = append(schemas, "body")
	}
	if rt.Schema != nil && rt.Schema.Query != nil {
		schemas = append(schemas, "query")
	}
	if len(schemas) > 0 {
		row.Schema = strings.Join(schemas, " and ")
	}
	var rates []string
	if rl.Function != nil {
		rates = append(rates, fmt.Sprintf("%g/s burst %d for all callers", rl.Function.PerSecond, rl.Function.Burst))
	}
	if rl.Caller != nil {
		rates = append(rates, fmt.Sprintf("%g/s burst %d per caller", rl.Caller.PerSecond, rl.Caller.Burst))
	}
	row.Rate = "the daemon's defaults"
	if len(rates) > 0 {
		row.Rate = strings.Join(rates, "; ")
	}
	return row
}

// recent returns the function's newest calls of the last week, newest
// first, or why there are none to show; each call of the week is also
// passed to also.
func (c *Console) recent(ctx context.Context, name string, also func(observe.Record)) ([]observe.Record, string) {
	if c.d.History == nil {
		return nil, "This daemon keeps no invocation history."
	}
	ring := make([]observe.Record, 0, recentCalls)
	next := 0
	err := c.d.History.Read(ctx, observe.Query{Function: name, Since: c.now().Add(-7 * 24 * time.Hour)}, func(rec observe.Record) error {
		also(rec)
		if len(ring) < recentCalls {
			ring = append(ring, rec)
			return nil
		}
		ring[next] = rec
		next = (next + 1) % recentCalls
		return nil
	})
	if err != nil {
		c.log.Warn("console: history not read", "function", name, "err", err)
		return nil, "The invocation history cannot be read right now."
	}
	out := make([]observe.Record, 0, len(ring))
	for i := len(ring) - 1; i >= 0; i-- {
		out = append(out, ring[(next+i)%len(ring)])
	}
	if len(out) == 0 {
		return nil, "No calls in the last week."
	}
	return out, ""
}
