package manifest

import (
	"time"

	"gopkg.in/yaml.v3"
)

// This file decodes what a manifest says about asynchronous calls of the
// function: how often a failed call is tried again, and where its result
// may be sent when it is done.

// Async is how asynchronous calls of a function are retried and where
// their results may be sent.
type Async struct {
	// Retries is how many times a failed call is tried again after its
	// first attempt, from 0 to MaxRetries.
	Retries int `json:"retries"`
	// Backoff is the delay before the first retry, doubled before each
	// retry after it, from MinBackoff to MaxBackoff.
	Backoff time.Duration `json:"backoff"`
	// Callbacks are the hosts callback URLs may reach, in the syntax of
	// http capability grants (host or host:port, *.name wildcards). With
	// none, the default, every callback URL is refused: a callback is a
	// request the platform makes on the caller's say-so, and without a
	// list it could be pointed anywhere.
	Callbacks []string `json:"callbacks,omitempty"`
	// CallbackSecret names the secret (in the secrets store) whose value
	// signs callbacks, so that their receivers can tell them from
	// forgeries; it is required with Callbacks and refused without.
	CallbackSecret string `json:"callback_secret,omitempty"`
}

// Defaults and bounds of asynchronous calls. A manifest that leaves a
// setting out gets its default; one that sets it must keep it in bounds.
const (
	DefaultRetries = 3
	MaxRetries     = 20

	DefaultBackoff = time.Second
	MinBackoff     = 10 * time.Millisecond
	MaxBackoff     = time.Hour

	// MaxCallbacks is the most hosts async.callbacks may list.
	MaxCallbacks = 16
)

// DefaultAsync returns the settings of a manifest without an async
// section: DefaultRetries retries, the first after DefaultBackoff, and no
// callbacks.
func DefaultAsync() Async {
	return Async{Retries: DefaultRetries, Backoff: DefaultBackoff}
}

// async returns a decodeFunc for the async mapping.
func (d *decoder) async(a *Async) decodeFunc {
	return func(n *yaml.Node, path string) {
		var callbacks, secret *yaml.Node
		d.object(n, path, []field{
			{name: "retries", decode: d.integer(&a.Retries, 0, MaxRetries)},
			{name: "backoff", decode: d.duration(&a.Backoff, MinBackoff, MaxBackoff)},
			{name: "callbacks", decode: func(v *yaml.Node, at string) {
				callbacks = v
				d.stringList(&a.Callbacks, MaxCallbacks, checkHostGrant)(v, at)
			}},
			{name: "callback_secret", decode: func(v *yaml.Node, at string) {
				secret = v
				d.text(&a.CallbackSecret, checkSecretName)(v, at)
			}},
		})
		// Whether hosts are listed is judged by the nodes rather than by
		// what was decoded from them, so that a bad host does not also
		// make the secret look unwanted.
		isList := callbacks != nil && callbacks.Kind == yaml.SequenceNode
		listed := isList && len(callbacks.Content) > 0
		switch {
		case listed && secret == nil:
			d.errorf(n, path, "callbacks need a callback_secret: the name of the secret that signs them")
		case secret != nil && (callbacks == nil || (isList && !listed)):
			d.errorf(secret, join(path, "callback_secret"), "callback_secret signs callbacks, but no callbacks are listed")
		}
	}
}
