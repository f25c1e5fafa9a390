package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/identity"
)

// Topics stores events published over HTTP; *events.Topics is one.
type Topics interface {
	Publish(ctx context.Context, topic string, ev events.Event) (id string, err error)
}

var _ Topics = (*events.Topics)(nil)

// published is the body of a 202 to a publisher.
type published struct {
	ID    string `json:"id"`
	Topic string `json:"topic"`
}

// servePublish answers POST /events/TOPIC: a CloudEvent, in binary or
// structured mode, from a client whose API key holds the scope
// publish:TOPIC. The 202 is sent once the event is durable; an event whose
// id was published before is stored once and answered the same.
func (g *Gateway) servePublish(w http.ResponseWriter, r *http.Request, inv *invocation, topic string) error {
	inv.route = "publish " + topic
	if !events.ValidTopic(topic) {
		return apierror.New(apierror.RouteNotFound, "no such topic: topics are dot-separated lowercase words")
	}
	if r.Method != http.MethodPost {
		return apierror.New(apierror.MethodNotAllowed, "publish events with POST")
	}
	if g.deps.Topics == nil {
		return apierror.New(apierror.Unavailable, "events are not served here")
	}
	token, err := bearer(r)
	if err != nil {
		return err
	}
	key, err := g.keys.Authenticate(token)
	if err != nil {
		return apierror.Wrap(err, apierror.Unauthenticated, "a valid API key is required: send Authorization: Bearer <key>")
	}
	inv.caller = key.Caller()
	switch err := key.AuthorizePublish(topic, remoteAddr(r), g.now()); {
	case errors.Is(err, identity.ErrScope):
		return apierror.Wrap(err, apierror.InsufficientScope, "this API key lacks the scope %s", identity.PublishScope(topic))
	case errors.Is(err, identity.ErrSource):
		return apierror.Wrap(err, apierror.SourceNotAllowed, "this API key may not be used from this address")
	case err != nil:
		return apierror.Wrap(err, apierror.Forbidden, "this API key may not publish")
	}
	d := g.deps.Limiter.Allow("publish "+inv.caller, g.deps.Defenses.CallerRate)
	d.Headers(w.Header(), "caller")
	if !d.Allowed {
		return rateLimited(d, "this key is over its rate limit for publishing")
	}
	// Room for a structured envelope around the largest data.
	body, err := readBody(w, r, events.MaxData+64<<10)
	if err != nil {
		return err
	}
	ev, err := events.FromHTTP(r.Context(), r.Header, body)
	if errors.Is(err, events.ErrTooLarge) {
		return apierror.Wrap(err, apierror.BodyTooLarge, "event data may be at most %d bytes", events.MaxData)
	}
	if err != nil {
		// The reason names an attribute, never a value.
		return apierror.Wrap(err, apierror.InvalidEvent, "%s", strings.TrimPrefix(err.Error(), events.ErrNotAnEvent.Error()+": "))
	}
	ev.Publisher = inv.caller
	id, err := g.deps.Topics.Publish(r.Context(), topic, ev)
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the event cannot be stored right now")
	}
	inv.status = http.StatusAccepted
	return writeJSON(w, http.StatusAccepted, published{ID: id, Topic: topic})
}
