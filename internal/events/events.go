// Package events keeps the events that functions publish to topics, in one
// JetStream stream where each topic is a subject (pave.events.<topic>).
//
// An event is stored as a CloudEvents 1.0 message in the binary mode of the
// NATS protocol binding: the attributes are message headers (ce-specversion,
// ce-id, ce-source, ce-type, ce-time, and content-type for datacontenttype)
// and the data is the message body. The JetStream message id is derived
// from the publisher, the topic, the source and the event id, so an event
// published twice inside the duplicate window is stored once, and no
// publisher can suppress another's event by sending its id first.
//
// Who may publish to a topic is decided before Publish is called (package
// capability checks a function's grant); this package only validates what
// it stores.
package events

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/store"
)

// SubjectPrefix is the JetStream subject prefix of topics.
const SubjectPrefix = "pave.events."

// Limits.
const (
	// MaxData is the largest event data, in bytes.
	MaxData = 1 << 20
	// Retention is how long the stream keeps events.
	Retention = 7 * 24 * time.Hour
	// DuplicateWindow is how long an event id is remembered.
	DuplicateWindow = 10 * time.Minute
)

// ValidTopic reports whether topic may name a topic: the manifest's rule,
// dot-separated lowercase words, which are also valid subject tokens.
func ValidTopic(topic string) bool { return manifest.ValidTopic(topic) }

// Errors of Publish.
var (
	ErrInvalidTopic = errors.New("invalid topic name")
	ErrTooLarge     = fmt.Errorf("event data is larger than %d bytes", MaxData)
)

// Event is one event to publish.
type Event struct {
	// ID is the event's id; empty makes a random one.
	ID string
	// Source is the CloudEvents source, such as "/functions/orders".
	Source string
	// Type is the CloudEvents type; empty means the topic.
	Type string
	// ContentType is the data's media type (datacontenttype); empty means
	// application/json for JSON data and application/octet-stream for the
	// rest.
	ContentType string
	// Subject is the CloudEvents subject, if any.
	Subject string
	// Data is the event's data.
	Data []byte

	// Publisher is who published the event: "function:NAME" or
	// "key:NAME". It is pave's, not the publisher's, to say.
	Publisher string
	// Depth is the call depth of the publishing invocation (0 for a client
	// over HTTP): a function triggered by the event runs one deeper, so
	// that functions publishing to each other's topics stop at the depth
	// cap.
	Depth int
	// Allowance is how many invocations the functions the event runs may
	// cause, together: a share of what was left to the publishing
	// invocation's request (limits.CallTree.Hand). 0 for an event a client
	// published: each of its functions starts a request of its own.
	Allowance int
	// Time is when the event was stored; set by Decode.
	Time time.Time
}

// Headers of stored events that are pave's rather than CloudEvents'.
const (
	headerPublisher = "pave-publisher"
	headerDepth     = "pave-depth"
	headerAllowance = "pave-allowance"
)

// Topics publishes events.
type Topics struct {
	stream *store.Stream
	now    func() time.Time
}

// StreamConfig is the configuration of the events stream.
func StreamConfig() store.StreamConfig {
	return store.StreamConfig{
		Name:       "pave_events",
		Subjects:   []string{SubjectPrefix + ">"},
		MaxAge:     Retention,
		MaxMsgSize: MaxData + 64<<10, // room for the headers
		Duplicates: DuplicateWindow,
	}
}

// New returns Topics publishing to s, a stream opened with StreamConfig.
func New(s *store.Stream) *Topics {
	return &Topics{stream: s, now: time.Now}
}

// Publish stores ev on topic and returns its id once it is durable.
// Publishing an id already stored within the duplicate window stores
// nothing and succeeds.
func (t *Topics) Publish(ctx context.Context, topic string, ev Event) (string, error) {
	if !ValidTopic(topic) {
		return "", ErrInvalidTopic
	}
	if len(ev.Data) > MaxData {
		return "", ErrTooLarge
	}
	if ev.ID == "" {
		ev.ID = NewID()
	}
	if ev.Type == "" {
		ev.Type = topic
	}
	contentType := ev.ContentType
	switch {
	case contentType != "":
	case json.Valid(ev.Data):
		contentType = "application/json"
	default:
		contentType = "application/octet-stream"
	}
	header := map[string][]string{
		"ce-specversion": {"1.0"},
		"ce-id":          {ev.ID},
		"ce-source":      {ev.Source},
		"ce-type":        {ev.Type},
		"ce-time":        {t.now().UTC().Format(time.RFC3339Nano)},
		"content-type":   {contentType},
		headerDepth:      {strconv.Itoa(ev.Depth)},
	}
	if ev.Subject != "" {
		header["ce-subject"] = []string{ev.Subject}
	}
	if ev.Publisher != "" {
		header[headerPublisher] = []string{ev.Publisher}
	}
	if ev.Allowance > 0 {
		header[headerAllowance] = []string{strconv.Itoa(ev.Allowance)}
	}
	_, err := t.stream.Publish(ctx, SubjectPrefix+topic, dedupKey(topic, ev), header, ev.Data)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return "", err
	}
	return ev.ID, nil
}

// dedupKey is the message id of ev on topic: CloudEvents ids are unique
// per source, and pave scopes them by publisher and topic too, so that no
// publisher can suppress another's event by sending its id first.
func dedupKey(topic string, ev Event) string {
	h := sha256.New()
	for _, s := range []string{ev.Publisher, topic, ev.Source, ev.ID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Last returns the newest event on topic, as stored.
func (t *Topics) Last(ctx context.Context, topic string) (store.Message, error) {
	if !ValidTopic(topic) {
		return store.Message{}, ErrInvalidTopic
	}
	return t.stream.Last(ctx, SubjectPrefix+topic)
}

// NewID returns a random event id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Topic returns the topic a stored event's subject names.
func Topic(subject string) (string, bool) {
	topic, ok := strings.CutPrefix(subject, SubjectPrefix)
	return topic, ok && ValidTopic(topic)
}

// Decode reads an event stored by Publish.
func Decode(m store.Message) (Event, error) {
	first := m.HeaderValue
	if first("ce-specversion") != "1.0" || first("ce-id") == "" {
		return Event{}, errors.New("not a CloudEvents 1.0 event")
	}
	ev := Event{
		ID: first("ce-id"), Source: first("ce-source"), Type: first("ce-type"), Subject: first("ce-subject"),
		ContentType: first("content-type"), Data: m.Data, Publisher: first(headerPublisher), Time: m.Time,
	}
	ev.Depth, _ = strconv.Atoi(first(headerDepth))
	if a := first(headerAllowance); a != "" {
		// Only pave writes the header. One it cannot read allows the
		// least, rather than a new request's worth.
		if ev.Allowance, _ = strconv.Atoi(a); ev.Allowance < 1 {
			ev.Allowance = 1
		}
	}
	return ev, nil
}
