// Package scheme names the webhook signing schemes: the one list that
// manifests check `webhook.scheme` against and that package webhook
// implements. It imports nothing, so that the manifest can use it without
// depending on the verifier.
package scheme

import (
	"slices"
	"strings"
)

// Scheme is a sender's signing convention, as a manifest names it.
type Scheme string

// The schemes; package webhook documents what each one signs.
const (
	GitHub           Scheme = "github"
	Stripe           Scheme = "stripe"
	Slack            Scheme = "slack"
	StandardWebhooks Scheme = "standard-webhooks"
	HMAC             Scheme = "hmac"
)

// All lists every scheme, in the order messages name them.
var All = []Scheme{GitHub, Stripe, Slack, StandardWebhooks, HMAC}

// Valid reports whether s names a scheme.
func Valid(s string) bool { return slices.Contains(All, Scheme(s)) }

// List names every scheme for a message: "github, stripe, ...".
func List() string {
	names := make([]string, len(All))
	for i, s := range All {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
