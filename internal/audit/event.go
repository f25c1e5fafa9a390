package audit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pave-dev/pave/internal/secret"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes.
const (
	OK     Outcome = "ok"
	Denied Outcome = "denied" // refused: authentication, authorization, a capability, a limit
	Failed Outcome = "failed" // attempted and failed
)

// Actors that are not a key or a function.
const (
	// ActorAdmin is the holder of the admin token.
	ActorAdmin = "admin"
	// ActorSystem is the daemon acting on its own, such as a quarantine
	// decided by a policy.
	ActorSystem = "system"
)

// Actions of pave's administrative operations and security refusals. An
// action is lowercase, "area.verb"; other packages may add their own.
const (
	ActionDeploy           = "function.deploy"
	ActionRollback         = "function.rollback"
	ActionRemove           = "function.remove"
	ActionQuarantine       = "function.quarantine"
	ActionRestore          = "function.restore"
	ActionKeyCreate        = "key.create"
	ActionKeyRevoke        = "key.revoke"
	ActionKeyUpdate        = "key.update"
	ActionSecretSet        = "secret.set"
	ActionSecretRemove     = "secret.remove"
	ActionMasterKeyRotate  = "secret.rotate_master_key"
	ActionAdminTokenRotate = "admin.rotate_token"
	ActionBudgetSet        = "budget.set"
	ActionBudgetClear      = "budget.clear"
	ActionPoliciesSet      = "policies.set"
	ActionCapabilityDenied = "capability.denied"
	ActionAuthDenied       = "auth.denied"
	ActionAppApply         = "app.apply"
	// ActionRotateKey hands the log to the next audit key: the event,
	// sealed with the old key, names both ("from" and "to" in its
	// details), and every record after it is sealed with the new one.
	// Only Auditor.Rotate records it.
	ActionRotateKey = "audit.rotate_key"
)

// Ref names a principal or an object as actors and targets do:
// "key:ci", "function:orders", "secret:DB_URL" (the name, never the value).
func Ref(kind, name string) string { return kind + ":" + name }

// Event is one audited action: who did what to what, from where, and how
// it ended. Seq and Time are set by the Auditor when it records the event.
//
// Nothing in an event may be a secret value, an API key, a token or a
// password: the log is readable by operators and shipped to other systems.
// Name things instead (Ref("secret", name), Ref("key", keyName)). Build
// events with NewEvent and its With, From, Deny and Fail methods: With
// formats values with fmt, so a secret.Value (and any type that redacts
// itself when formatted) shows as "[REDACTED]"; and Record replaces the
// value of any detail whose key names a credential ("token", "password",
// "authorization", ...) and anything that looks like a pave API key, a
// bearer token or a JWT, wherever it appears, with "[REDACTED]".
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Actor is who acted: ActorAdmin, ActorSystem, Ref("key", name),
	// Ref("function", name).
	Actor string `json:"actor"`
	// Action is what was done, such as ActionDeploy.
	Action string `json:"action"`
	// Target is what it was done to, such as Ref("function", "orders");
	// empty when there is none.
	Target string `json:"target"`
	// Source is where the request came from: the client's address, empty
	// for the daemon itself.
	Source string `json:"source"`
	// Outcome is how it ended; empty means OK.
	Outcome Outcome `json:"outcome"`
	// Details are a few more facts, such as a version or a reason. Keys
	// are lowercase letters, digits and "_.-".
	Details map[string]string `json:"details,omitempty"`
}

// NewEvent starts an event of actor doing action to target, outcome OK.
func NewEvent(actor, action, target string) Event {
	return Event{Actor: actor, Action: action, Target: target, Outcome: OK}
}

// From returns e with its source address set.
func (e Event) From(source string) Event {
	e.Source = source
	return e
}

// With returns e with the detail key set to value formatted by fmt.Sprint:
// a secret.Value shows as "[REDACTED]". e itself is not changed.
func (e Event) With(key string, value any) Event {
	d := make(map[string]string, len(e.Details)+1)
	for k, v := range e.Details {
		d[k] = v
	}
	d[key] = fmt.Sprint(value)
	e.Details = d
	return e
}

// Deny returns e with outcome Denied and the reason as detail "reason".
func (e Event) Deny(reason string) Event {
	e.Outcome = Denied
	return e.With("reason", reason)
}

// Fail returns e with outcome Failed and err's message as detail "error".
// pave's errors do not quote secrets; Record's redaction is the second
// line of defence.
func (e Event) Fail(err error) Event {
	e.Outcome = Failed
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	return e.With("error", msg)
}

// Limits on what an event holds. Longer free-form strings are cut (with
// "…" at the end), so that an event is never refused for its size.
const (
	MaxDetails     = 16
	maxNameLen     = 128 // actor, action
	maxTargetLen   = 512
	maxSourceLen   = 256
	maxDetailKey   = 64
	maxDetailValue = 512
)

// ErrInvalidEvent means an event cannot be recorded as it is: a missing or
// malformed actor or action, an unknown outcome, a bad detail key or too
// many details. These are programming errors, not input errors.
var ErrInvalidEvent = errors.New("invalid audit event")

var (
	actionRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$`)
	detailKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
)

// credentialKeys are words that, in a detail key, mark its value as a
// credential. Name the thing (key_name, secret) instead.
var credentialKeys = []string{"password", "passwd", "passphrase", "token", "authorization", "cookie", "credential", "private", "api_key", "apikey", "secret_value", "master_key"}

// credentialRE finds credentials in free text: pave API keys, admin tokens
// and console passwords, bearer tokens and JWTs (three base64url parts, the
// first a JSON header).
var credentialRE = regexp.MustCompile(`pave_[aku]_[A-Za-z0-9_-]+|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// clean checks e and returns the form Record stores: valid UTF-8, lengths
// bounded, credentials redacted.
func (e Event) clean() (Event, error) {
	if e.Outcome == "" {
		e.Outcome = OK
	}
	switch e.Outcome {
	case OK, Denied, Failed:
	default:
		return Event{}, fmt.Errorf("%w: outcome %q", ErrInvalidEvent, e.Outcome)
	}
	if !actionRE.MatchString(e.Action) || len(e.Action) > maxNameLen {
		return Event{}, fmt.Errorf("%w: action %q: want area.verb in lowercase", ErrInvalidEvent, truncate(e.Action, maxNameLen))
	}
	if e.Actor == "" {
		return Event{}, fmt.Errorf("%w: %s without an actor", ErrInvalidEvent, e.Action)
	}
	if len(e.Details) > MaxDetails {
		return Event{}, fmt.Errorf("%w: %d details, at most %d", ErrInvalidEvent, len(e.Details), MaxDetails)
	}
	e.Actor = scrub(e.Actor, maxNameLen)
	e.Target = scrub(e.Target, maxTargetLen)
	e.Source = scrub(e.Source, maxSourceLen)
	var details map[string]string
	if len(e.Details) > 0 {
		details = make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			if !detailKeyRE.MatchString(k) || len(k) > maxDetailKey {
				return Event{}, fmt.Errorf("%w: detail key %q: want lowercase letters, digits and _.-", ErrInvalidEvent, truncate(k, maxDetailKey))
			}
			if isCredentialKey(k) {
				v = secret.Redacted
			}
			details[k] = scrub(v, maxDetailValue)
		}
	}
	e.Details = details
	return e, nil
}

func isCredentialKey(k string) bool {
	for _, w := range credentialKeys {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// scrub makes s valid UTF-8, redacts credentials in it and bounds it.
func scrub(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = credentialRE.ReplaceAllString(s, secret.Redacted)
	return truncate(s, n)
}

// truncate cuts s to at most n bytes on a rune boundary, ending in "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
