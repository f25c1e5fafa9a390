package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// ErrNotAnEvent means an HTTP request does not carry a CloudEvent.
var ErrNotAnEvent = errors.New("not a CloudEvent")

// Bounds on the attributes of an event read from HTTP, in bytes. The
// CloudEvents specification sets none; these leave room for any real id,
// type or URI and keep one event's attributes from filling a log line.
const (
	MaxID      = 256  // id
	MaxType    = 256  // type and datacontenttype
	MaxURI     = 2048 // source, subject and dataschema
	maxContent = MaxType
)

// refusal is an error of FromHTTP. Its message is fixed text that names at
// most an attribute, never a value: the SDK's errors quote the request
// (`invalid value for time: "..."`), so they are only its cause, for the
// log.
type refusal struct {
	msg   string
	cause error
}

func (r *refusal) Error() string           { return ErrNotAnEvent.Error() + ": " + r.msg }
func (r *refusal) Unwrap() []error         { return []error{ErrNotAnEvent, r.cause} }
func refuse(msg string, cause error) error { return &refusal{msg: msg, cause: cause} }

// FromHTTP reads the CloudEvent an HTTP request carries, in either of the
// HTTP binding's modes: binary (attributes in ce- headers, the data as the
// body) or structured (the whole event as application/cloudevents+json).
// Batches are refused, and so is a structured event with both data and
// data_base64, which the JSON format makes exclusive. The event must have
// the required attributes (specversion 1.0, id, source, type), each
// attribute in its form (time in RFC 3339, source and dataschema URI
// references), within the bounds above and without control characters.
// The error says which attribute is wrong, without quoting the request.
func FromHTTP(ctx context.Context, header http.Header, body []byte) (Event, error) {
	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	defer msg.Finish(nil)
	enc := msg.ReadEncoding()
	switch enc {
	case binding.EncodingBinary:
	case binding.EncodingStructured:
		if err := checkStructured(body); err != nil {
			return Event{}, err
		}
	case binding.EncodingBatch:
		return Event{}, refuse("batches are not accepted; send one event per request", nil)
	default:
		return Event{}, refuse("send ce-specversion, ce-id, ce-source and ce-type headers, or Content-Type: application/cloudevents+json", nil)
	}
	ce, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return Event{}, refuse(diagnose(header, body, enc), err)
	}
	if ce.SpecVersion() != "1.0" {
		return Event{}, refuse("specversion must be 1.0", nil)
	}
	if err := ce.Validate(); err != nil {
		return Event{}, refuse(missing(ce.ID(), ce.Source(), ce.Type()), err)
	}
	if len(ce.Data()) > MaxData {
		return Event{}, ErrTooLarge
	}
	ev := Event{
		ID: ce.ID(), Source: ce.Source(), Type: ce.Type(), Subject: ce.Subject(),
		ContentType: ce.DataContentType(), Data: ce.Data(),
	}
	if err := checkBounds(ev, ce.DataSchema()); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// checkStructured refuses a structured event that is not a JSON object,
// or that holds both data and data_base64.
func checkStructured(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return refuse("the body is not a JSON object", err)
	}
	_, data := fields["data"]
	_, data64 := fields["data_base64"]
	if data && data64 {
		return refuse("data and data_base64 are exclusive: send one", nil)
	}
	for _, name := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"} {
		if raw, ok := fields[name]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return refuse(name+" must be a string", nil)
			}
		}
	}
	return nil
}

// attribute returns the raw value of a context attribute: a ce- header in
// binary mode, a member of the JSON object in structured mode.
func attribute(header http.Header, body []byte, enc binding.Encoding, name string) (string, bool) {
	if enc == binding.EncodingBinary {
		v := header.Values("Ce-" + name)
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", false
	}
	raw, ok := fields[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", true
	}
	return s, true
}

// diagnose names the attribute the SDK could not read, checking each in
// the form the specification gives it.
func diagnose(header http.Header, body []byte, enc binding.Encoding) string {
	if v, ok := attribute(header, body, enc, "time"); ok {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return "time must be an RFC 3339 timestamp"
		}
	}
	for _, name := range []string{"source", "dataschema"} {
		if v, ok := attribute(header, body, enc, name); ok {
			if _, err := url.Parse(v); err != nil || v == "" {
				return name + " must be a URI reference"
			}
		}
	}
	if v, ok := attribute(header, body, enc, "specversion"); ok && v != "1.0" {
		return "specversion must be 1.0"
	}
	return "an attribute is not in the form CloudEvents 1.0 gives it"
}

// missing names the required attributes an event lacks.
func missing(id, source, typ string) string {
	var names []string
	for _, a := range []struct{ name, value string }{{"id", id}, {"source", source}, {"type", typ}} {
		if a.value == "" {
			names = append(names, a.name)
		}
	}
	if len(names) == 0 {
		return "an attribute is not in the form CloudEvents 1.0 gives it"
	}
	return strings.Join(names, ", ") + ": required"
}

// checkBounds refuses attributes over their bound or holding control
// characters, which would pass into logs and function requests.
func checkBounds(ev Event, schema string) error {
	for _, a := range []struct {
		name, value string
		max         int
	}{
		{"id", ev.ID, MaxID}, {"type", ev.Type, MaxType}, {"source", ev.Source, MaxURI},
		{"subject", ev.Subject, MaxURI}, {"dataschema", schema, MaxURI}, {"datacontenttype", ev.ContentType, maxContent},
	} {
		if len(a.value) > a.max {
			return refuse(fmt.Sprintf("%s may be at most %d bytes", a.name, a.max), nil)
		}
		if !printable(a.value) {
			return refuse(a.name+" must be printable UTF-8 text without control characters", nil)
		}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
