package posture

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
)

// A Rule is one check Check runs. Its id is stable: pipelines and
// Policy.Ignore refer to it.
type Rule struct {
	ID       string
	Severity Severity
	Risk     string // "SAS-1" to "SAS-12": see docs/SECURITY.md
	Title    string // a phrase, for SARIF's shortDescription
	// Description is what the rule looks for and why it matters.
	Description string
	Fix         string // the usual fix, one sentence
	Live        bool   // runs only on functions with usage data
}

// Rule ids.
const (
	RulePublicRoute       = "PAVE-PUBLIC-ROUTE"
	RulePublicNoContract  = "PAVE-PUBLIC-NO-CONTRACT"
	RulePublicNoRateLimit = "PAVE-PUBLIC-NO-RATE-LIMIT"
	RuleUnusedGrant       = "PAVE-UNUSED-GRANT"
	RuleUnusedFunction    = "PAVE-UNUSED-FUNCTION"
	RuleOwnerMissing      = "PAVE-OWNER-MISSING"
	RuleOwnerUnknown      = "PAVE-OWNER-UNKNOWN"
	RuleLimitAbovePolicy  = "PAVE-LIMIT-ABOVE-POLICY"
	RuleHTTPWildcard      = "PAVE-HTTP-WILDCARD"
	RuleHTTPIPLiteral     = "PAVE-HTTP-IP-LITERAL"
	RuleSecretNotRotated  = "PAVE-SECRET-NOT-ROTATED"
	RuleUnredactedRoute   = "PAVE-UNREDACTED-ROUTE"
	RuleHardcodedSecret   = "PAVE-HARDCODED-SECRET"
	RuleVulnerableDep     = "PAVE-VULNERABLE-DEPENDENCY"
	RuleModuleNotScanned  = "PAVE-MODULE-NOT-SCANNED"
	RuleTriggerNoSchema   = "PAVE-TRIGGER-NO-SCHEMA"
	RuleAuditTampered     = "PAVE-AUDIT-TAMPERED"
	RuleAuditKeyInStore   = "PAVE-AUDIT-KEY-IN-STORE"
	RulePolicy            = "PAVE-POLICY"
)

var rules = []Rule{
	{ID: RulePublicRoute, Severity: SeverityLow, Risk: "SAS-2",
		Title:       "Public route",
		Description: "A route with public: true is reached without any authentication: no API key, JWT or webhook signature.",
		Fix:         "Remove public: true so the route requires an API key, or choose auth: jwt or auth: webhook, unless anonymous callers are intended."},
	{ID: RulePublicNoContract, Severity: SeverityMedium, Risk: "SAS-1",
		Title:       "Public route without an input contract",
		Description: "A public route without a body or query schema passes any input from anyone to the function, which must then validate all of it itself.",
		Fix:         "Add schema: {body: ...} or schema: {query: ...} to the route so the gateway refuses input the function does not expect."},
	{ID: RulePublicNoRateLimit, Severity: SeverityLow, Risk: "SAS-8",
		Title:       "Public route without its own rate limit or budget",
		Description: "A function with a public route sets neither rate_limit nor budget, so anonymous callers are held only by the daemon's defaults.",
		Fix:         "Set rate_limit.caller (and rate_limit.function or a budget) in the manifest to bound what anonymous callers can spend."},
	{ID: RuleUnusedGrant, Severity: SeverityMedium, Risk: "SAS-4", Live: true,
		Title:       "Capability granted but not used",
		Description: "A capability group the manifest grants has not been used since the function was deployed, or for longer than the policy allows: a grant that only widens what a compromised function can do.",
		Fix:         "Remove the unused grant from the manifest's capabilities and redeploy."},
	{ID: RuleUnusedFunction, Severity: SeverityLow, Risk: "SAS-11", Live: true,
		Title:       "Function not invoked",
		Description: "The function has not been invoked for longer than the policy allows: obsolete functions keep their routes, grants and dependencies exposed.",
		Fix:         "Remove the function with pave rm if it is obsolete, or confirm with its owner that it is still needed."},
	{ID: RuleOwnerMissing, Severity: SeverityHigh, Risk: "SAS-3",
		Title:       "Function without an owner",
		Description: "No owner is recorded for the function, so no one is accountable for its configuration, grants and fixes.",
		Fix:         "Set owner in the manifest to the team responsible for the function and redeploy."},
	{ID: RuleOwnerUnknown, Severity: SeverityMedium, Risk: "SAS-3",
		Title:       "Function owned by an unknown owner",
		Description: "The function's owner is not one of the owners the policy knows, which often means a typo or a team that no longer exists.",
		Fix:         "Set owner in the manifest to one of the known owners, or add the owner to the policy's list."},
	{ID: RuleLimitAbovePolicy, Severity: SeverityMedium, Risk: "SAS-8",
		Title:       "Limit above policy",
		Description: "The function's timeout, memory or concurrency limit is above the policy's maximum, raising the cost of abuse (denial of service and of wallet).",
		Fix:         "Lower the limit in the manifest's limits to the policy's maximum or below."},
	{ID: RuleHTTPWildcard, Severity: SeverityMedium, Risk: "SAS-4",
		Title:       "Outbound HTTP to a wildcard host",
		Description: "An http grant to *.domain allows requests to every host under the domain, including ones an attacker may control or create.",
		Fix:         "Replace the wildcard with the exact host names the function calls."},
	{ID: RuleHTTPIPLiteral, Severity: SeverityMedium, Risk: "SAS-4",
		Title:       "Outbound HTTP to an IP address",
		Description: "An http grant to an IP address literal bypasses name-based review and keeps working for whoever holds that address next.",
		Fix:         "Grant the service's DNS name instead of its address."},
	{ID: RuleSecretNotRotated, Severity: SeverityMedium, Risk: "SAS-7",
		Title:       "Secret not rotated",
		Description: "A secret granted to the function has not been rotated for longer than the policy allows, widening the window in which a leaked value works.",
		Fix:         "Rotate the secret at its issuer and store the new value with pave secret set."},
	{ID: RuleUnredactedRoute, Severity: SeverityMedium, Risk: "SAS-7",
		Title:       "Route with redaction disabled",
		Description: "A route opts out of redaction, so values of the function's secrets can pass in its responses.",
		Fix:         "Remove unredacted from the route unless returning secret values to its callers is the route's purpose."},
	{ID: RuleHardcodedSecret, Severity: SeverityCritical, Risk: "SAS-7",
		Title:       "Credential in the module",
		Description: "The module's data holds a string in the format of a credential (AWS access key id, PEM private key, pave API key, GitHub or Slack token) or a value assigned to a secret-sounding name that is random enough to be a key or shaped like a generated password: anyone with the module has it.",
		Fix:         "Revoke the credential, remove it from the code and grant it to the function as a secret (capabilities.secrets) instead."},
	{ID: RuleVulnerableDep, Severity: SeverityHigh, Risk: "SAS-6",
		Title:       "Vulnerable Go version or dependency",
		Description: "The module was built with a Go version or a module dependency that a record of the OSV database lists as affected.",
		Fix:         "Rebuild the module with the fixed Go version or dependency and redeploy."},
	{ID: RuleModuleNotScanned, Severity: SeverityInfo, Risk: "SAS-6",
		Title:       "Module not fully scanned",
		Description: "The module could not be read, or carries no Go build information, so it was not checked for credentials or vulnerable dependencies.",
		Fix:         "Deploy a module built by pave build (the go command) so that it can be checked."},
	{ID: RuleTriggerNoSchema, Severity: SeverityLow, Risk: "SAS-1",
		Title:       "Topic trigger without a data schema",
		Description: "A topic trigger without a schema delivers whatever any publisher of the topic sends, so the function must validate every event itself.",
		Fix:         "Add schema: to the trigger so events whose data breaks it go to the dead-letter stream instead of the function."},
	{ID: RuleAuditTampered, Severity: SeverityCritical, Risk: "SAS-5",
		Title:       "Audit log tampered with",
		Description: "The daemon found a record of its audit log that was added, changed, removed or reordered without the audit key, and stopped sealing the log so that no seal vouches for it.",
		Fix:         "Run pave audit verify to find the record, investigate who could write the NATS store, and keep the log as evidence."},
	{ID: RuleAuditKeyInStore, Severity: SeverityMedium, Risk: "SAS-5",
		Title:       "Audit key beside the store",
		Description: "The audit key file lies in the data directory of the embedded JetStream store, so whoever can read or copy the store can usually read the key too, and with it forge audit records.",
		Fix:         "Move the key out of the data directory and point --audit-key-file at it, on a disk or account the store's users cannot read."},
	{ID: RulePolicy, Severity: SeverityHigh, Risk: "SAS-3",
		Title:       "Organisation policy violated",
		Description: "The function breaks a rule of the organisation's policy set (pave policy ls): a CEL expression over its manifest that must hold. Deploys are refused from the moment a rule is set; a function deployed before keeps running and is reported here.",
		Fix:         "Change the manifest so that the rule holds, as the rule's message says, and redeploy."},
}

// Rules returns every rule, in a fixed order.
func Rules() []Rule { return slices.Clone(rules) }

func ruleByID(id string) (Rule, int) {
	for i, r := range rules {
		if r.ID == id {
			return r, i
		}
	}
	panic("posture: unknown rule " + id)
}

// checker runs the rules and collects findings.
type checker struct {
	p       Policy
	now     time.Time
	secrets map[string]Secret
	rules   *policy.Set // the organisation's; nil: none
	out     []Finding
}

// fn is the function being checked, with its defaults applied.
type fn struct {
	*Function
	name, owner, file string
	m                 *manifest.Manifest // never nil
}

// add records a finding of rule about subject in function f, at line of
// its manifest (0: none), with fix (""; the rule's) and the evidence
// format and args make.
func (c *checker) add(f *fn, rule, subject string, line int, fix, format string, args ...any) {
	r, _ := ruleByID(rule)
	c.out = append(c.out, Finding{
		Rule: r.ID, Severity: r.Severity, Risk: r.Risk,
		Function: f.name, Owner: f.owner, Subject: subject,
		Evidence: fmt.Sprintf(format, args...),
		Fix:      cmp.Or(fix, r.Fix),
		File:     f.file, Line: line,
	})
}

func (c *checker) function(in *Function) {
	f := &fn{Function: in, m: in.Manifest}
	if f.m == nil {
		f.m = &manifest.Manifest{}
	}
	f.name = cmp.Or(in.Name, f.m.Name)
	f.owner = cmp.Or(in.Owner, f.m.Owner)
	f.file = in.ManifestPath
	if f.file == "" {
		f.file = cmp.Or(f.name, "function") + "/pave.yaml"
	}
	if in.Manifest != nil {
		c.routes(f)
		c.triggers(f)
		c.limits(f)
		c.hosts(f)
		c.rotation(f)
		c.policies(f)
	}
	c.owner(f)
	if in.Live {
		c.usage(f)
	}
	if len(in.Module) > 0 {
		c.module(f)
	}
}

// policies: PAVE-POLICY, one finding per violation of the organisation's
// rules, named in its subject.
func (c *checker) policies(f *fn) {
	for _, v := range c.rules.Check(f.m) {
		subject := "policy " + v.Rule
		if v.Subject != "" {
			subject += ": " + v.Subject
		}
		c.add(f, RulePolicy, subject, v.Line, "", "%s", v.String())
	}
}

// daemon: PAVE-AUDIT-TAMPERED, PAVE-AUDIT-KEY-IN-STORE. Their findings
// name no function.
func (c *checker) daemon(d Daemon) {
	daemon := &fn{}
	if d.AuditTampering != "" {
		c.add(daemon, RuleAuditTampered, "audit log", 0, "", "the audit log was tampered with and is no longer sealed: %s", d.AuditTampering)
	}
	if d.AuditKeyInStore != "" {
		c.add(daemon, RuleAuditKeyInStore, "audit key", 0, "", "the audit key %s is in the embedded store's data directory", d.AuditKeyInStore)
	}
}

// routes: PAVE-PUBLIC-ROUTE, PAVE-PUBLIC-NO-CONTRACT,
// PAVE-PUBLIC-NO-RATE-LIMIT, PAVE-UNREDACTED-ROUTE.
func (c *checker) routes(f *fn) {
	firstPublic := -1
	for i, r := range f.m.Routes {
		route := r.Method + " " + r.Path
		if r.Public {
			if firstPublic < 0 {
				firstPublic = i
			}
			c.add(f, RulePublicRoute, route, r.Line, "", "route %s is public: it is reached without authentication", route)
			if len(r.SchemaRefs()) == 0 {
				c.add(f, RulePublicNoContract, route, r.Line, "", "public route %s has no body or query schema", route)
			}
		}
		if r.Unredacted != "" {
			c.add(f, RuleUnredactedRoute, route, r.Line, "", "route %s is unredacted; reason given: %q", route, r.Unredacted)
		}
	}
	if firstPublic >= 0 && f.m.RateLimit.Function == nil && f.m.RateLimit.Caller == nil && f.m.Budget == nil {
		r := f.m.Routes[firstPublic]
		c.add(f, RulePublicNoRateLimit, "rate_limit", r.Line, "", "public route %s %s, and the manifest sets no rate_limit or budget", r.Method, r.Path)
	}
}

// triggers: PAVE-TRIGGER-NO-SCHEMA.
func (c *checker) triggers(f *fn) {
	for _, t := range f.m.Triggers {
		if t.Topic != "" && t.Schema == nil {
			c.add(f, RuleTriggerNoSchema, "topic "+t.Topic, t.Line, "", "topic trigger %s has no data schema", t.Topic)
		}
	}
}

// limits: PAVE-LIMIT-ABOVE-POLICY.
func (c *checker) limits(f *fn) {
	l := f.m.Limits
	fix := func(name, max string) string {
		return fmt.Sprintf("Set limits.%s to %s or less in the manifest.", name, max)
	}
	if c.p.MaxTimeout > 0 && l.Timeout > c.p.MaxTimeout {
		c.add(f, RuleLimitAbovePolicy, "limits.timeout", f.m.Line("limits.timeout"), fix("timeout", c.p.MaxTimeout.String()),
			"timeout %s is above the policy's %s", l.Timeout, c.p.MaxTimeout)
	}
	if c.p.MaxMemory > 0 && l.Memory > c.p.MaxMemory {
		c.add(f, RuleLimitAbovePolicy, "limits.memory", f.m.Line("limits.memory"), fix("memory", formatBytes(c.p.MaxMemory)),
			"memory %s is above the policy's %s", formatBytes(l.Memory), formatBytes(c.p.MaxMemory))
	}
	if c.p.MaxConcurrency > 0 && l.Concurrency > c.p.MaxConcurrency {
		c.add(f, RuleLimitAbovePolicy, "limits.concurrency", f.m.Line("limits.concurrency"), fix("concurrency", fmt.Sprint(c.p.MaxConcurrency)),
			"concurrency %d is above the policy's %d", l.Concurrency, c.p.MaxConcurrency)
	}
}

// formatBytes writes n in the largest binary unit that divides it.
func formatBytes(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// hosts: PAVE-HTTP-WILDCARD, PAVE-HTTP-IP-LITERAL.
func (c *checker) hosts(f *fn) {
	for i, h := range f.m.Capabilities.HTTP {
		host := hostOf(h)
		line := f.m.Line(fmt.Sprintf("capabilities.http[%d]", i))
		switch {
		case host == "*":
			c.add(f, RuleHTTPWildcard, h, line, "", "capabilities.http grants %s: every host", h)
		case strings.HasPrefix(host, "*."):
			domain := strings.TrimPrefix(host, "*.")
			c.add(f, RuleHTTPWildcard, h, line,
				fmt.Sprintf("Replace %s in capabilities.http with the exact hosts under %s the function calls.", h, domain),
				"capabilities.http grants %s: every host under %s", h, domain)
		case isIPLiteral(host):
			c.add(f, RuleHTTPIPLiteral, h, line, "", "capabilities.http grants the IP address %s", h)
		}
	}
}

// hostOf returns the host of a host grant, without a port or the
// brackets of an IPv6 literal.
func hostOf(grant string) string {
	if h, _, err := net.SplitHostPort(grant); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(grant, "["), "]")
}

// isIPLiteral reports whether host is an IPv4 or IPv6 address, or made of
// digits and dots only ("127.1", "2130706433"), which many resolvers read
// as an IPv4 address and no DNS name is.
func isIPLiteral(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host != "" && strings.Trim(host, "0123456789.") == "" && strings.Trim(host, ".") != ""
}

// rotation: PAVE-SECRET-NOT-ROTATED.
func (c *checker) rotation(f *fn) {
	if c.p.SecretRotateAfter < 0 {
		return
	}
	for i, name := range f.m.Capabilities.Secrets {
		s, ok := c.secrets[name]
		if !ok {
			continue
		}
		last, state := s.Created, "set on "+date(s.Created)+" and never rotated"
		if !s.LastRotated.IsZero() && !s.LastRotated.Before(s.Created) {
			last, state = s.LastRotated, "last rotated on "+date(s.LastRotated)
		}
		if last.IsZero() {
			continue
		}
		if age := c.now.Sub(last); age > c.p.SecretRotateAfter {
			c.add(f, RuleSecretNotRotated, name, f.m.Line(fmt.Sprintf("capabilities.secrets[%d]", i)),
				fmt.Sprintf("Rotate secret %s at its issuer and store the new value with pave secret set %s.", name, name),
				"secret %s was %s, %s ago (policy: %s)", name, state, days(age), days(c.p.SecretRotateAfter))
		}
	}
}

// owner: PAVE-OWNER-MISSING, PAVE-OWNER-UNKNOWN.
func (c *checker) owner(f *fn) {
	switch {
	case strings.TrimSpace(f.owner) == "":
		c.add(f, RuleOwnerMissing, "owner", f.m.Line("owner"), "", "no owner is recorded")
	case len(c.p.KnownOwners) > 0 && !slices.Contains(c.p.KnownOwners, f.owner):
		c.add(f, RuleOwnerUnknown, "owner", f.m.Line("owner"), "", "owner %q is not one of the %d known owners", f.owner, len(c.p.KnownOwners))
	}
}

// usage: PAVE-UNUSED-FUNCTION, PAVE-UNUSED-GRANT. Live functions only.
func (c *checker) usage(f *fn) {
	if after := c.p.UnusedFunctionAfter; after > 0 {
		switch {
		case !f.LastInvoked.IsZero():
			if age := c.now.Sub(f.LastInvoked); age > after {
				c.add(f, RuleUnusedFunction, "invocations", f.m.Line("name"), "", "last invoked on %s, %s ago (policy: %s)", date(f.LastInvoked), days(age), days(after))
			}
		case !f.Deployed.IsZero():
			if age := c.now.Sub(f.Deployed); age > after {
				c.add(f, RuleUnusedFunction, "invocations", f.m.Line("name"), "", "never invoked since its deploy on %s, %s ago (policy: %s)", date(f.Deployed), days(age), days(after))
			}
		}
	}
	if after := c.p.UnusedGrantAfter; after > 0 {
		for _, group := range abi.CapabilityGroups {
			g := group.Name
			if !f.m.Capabilities.Granted(g) {
				continue
			}
			used := f.GrantUses[g]
			ref := used
			if f.Deployed.After(ref) {
				ref = f.Deployed
			}
			if ref.IsZero() {
				continue // no usage information at all
			}
			age := c.now.Sub(ref)
			if age <= after {
				continue
			}
			grant := describeGrant(f.m.Capabilities, g)
			fix := fmt.Sprintf("Remove capabilities.%s from the manifest and redeploy, unless the function still needs it.", g)
			if used.IsZero() {
				c.add(f, RuleUnusedGrant, "capabilities."+g, f.m.Line("capabilities."+g), fix, "%s grant (%s) never used since the deploy on %s, %s ago (policy: %s)", g, grant, date(f.Deployed), days(age), days(after))
			} else {
				c.add(f, RuleUnusedGrant, "capabilities."+g, f.m.Line("capabilities."+g), fix, "%s grant (%s) last used on %s, %s ago (policy: %s)", g, grant, date(used), days(c.now.Sub(used)), days(after))
			}
		}
	}
}

// describeGrant lists what a capability group grants, at most a few
// entries.
func describeGrant(caps manifest.Capabilities, group string) string {
	var items []string
	switch group {
	case abi.CapabilitySecrets:
		items = caps.Secrets
	case abi.CapabilityKV:
		for b, access := range caps.KV {
			items = append(items, b+": "+access)
		}
		slices.Sort(items)
	case abi.CapabilityHTTP:
		items = caps.HTTP
	case abi.CapabilityInvoke:
		items = caps.Invoke
	case abi.CapabilityPublish:
		items = caps.Publish
	}
	const shown = 5
	if len(items) > shown {
		return strings.Join(items[:shown], ", ") + fmt.Sprintf(" and %d more", len(items)-shown)
	}
	return strings.Join(items, ", ")
}

// module: PAVE-HARDCODED-SECRET, PAVE-VULNERABLE-DEPENDENCY,
// PAVE-MODULE-NOT-SCANNED.
func (c *checker) module(f *fn) {
	m, err := parseModule(f.Module)
	if err != nil {
		c.add(f, RuleModuleNotScanned, "module", 0, "", "the module is not a well-formed WebAssembly binary (%v); it was not scanned", err)
		return
	}
	for _, l := range m.scanSecrets() {
		c.add(f, RuleHardcodedSecret, fmt.Sprintf("%s at %d", l.Kind, l.Offset), 0, "", "%s", l)
	}
	if c.p.OSV == nil {
		return
	}
	bi, err := m.buildInfo()
	switch {
	case errors.Is(err, ErrNoBuildInfo):
		c.add(f, RuleModuleNotScanned, "module", 0, "", "the module carries no readable Go build information (%v); its dependencies were not checked for vulnerabilities", err)
		return
	case err != nil:
		c.add(f, RuleModuleNotScanned, "module", 0, "", "the module's Go build information cannot be read (%v)", err)
		return
	}
	if _, ok := GoVersionSemver(bi.GoVersion); !ok {
		c.add(f, RuleModuleNotScanned, "module", 0, "", "the module's Go version %q is not a release version; the standard library was not checked for vulnerabilities", bi.GoVersion)
	}
	for _, v := range c.p.OSV.Match(bi) {
		id := v.ID
		if len(v.Aliases) > 0 {
			id += " (" + strings.Join(v.Aliases, ", ") + ")"
		}
		fixed, fix := "no fixed version is recorded", "Replace or remove "+v.Package+": no fixed version is recorded."
		if v.Fixed != "" {
			fixed = "fixed in " + v.Fixed
			if v.Package == "stdlib" || v.Package == "toolchain" {
				fix = fmt.Sprintf("Rebuild the module with Go %s or later and redeploy.", v.Fixed)
			} else {
				fix = fmt.Sprintf("Upgrade %s to %s or later (go get %s@v%s), rebuild and redeploy.", v.Package, v.Fixed, v.Package, strings.TrimPrefix(v.Fixed, "v"))
			}
		}
		summary := ""
		if v.Summary != "" {
			summary = ": " + truncate(v.Summary, 120)
		}
		c.add(f, RuleVulnerableDep, v.ID+" "+v.Package, 0, fix, "%s affects %s %s, %s%s", id, v.Package, v.Version, fixed, summary)
		if v.Severity != 0 { // the record's rating, rather than the rule's default
			c.out[len(c.out)-1].Severity = v.Severity
		}
	}
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// days writes a duration in whole days.
func days(d time.Duration) string {
	n := int64(d / day)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
