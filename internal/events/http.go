package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// ErrNotAnEvent means an HTTP request does not carry a CloudEvent.
var ErrNotAnEvent = errors.New("not a CloudEvent")

// FromHTTP reads the CloudEvent an HTTP request carries, in either of the
// HTTP binding's modes: binary (attributes in ce- headers, the data as the
// body) or structured (the whole event as application/cloudevents+json).
// Batches are refused. The event must have the required attributes
// (specversion 1.0, id, source, type); the error says which is wrong,
// without quoting the request.
func FromHTTP(ctx context.Context, header http.Header, body []byte) (Event, error) {
	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	defer msg.Finish(nil)
	switch msg.ReadEncoding() {
	case binding.EncodingBinary, binding.EncodingStructured:
	case binding.EncodingBatch:
		return Event{}, fmt.Errorf("%w: batches are not accepted; send one event per request", ErrNotAnEvent)
	default:
		return Event{}, fmt.Errorf("%w: send ce-specversion, ce-id, ce-source and ce-type headers, or Content-Type: application/cloudevents+json", ErrNotAnEvent)
	}
	ce, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotAnEvent, err)
	}
	if ce.SpecVersion() != "1.0" {
		return Event{}, fmt.Errorf("%w: specversion must be 1.0", ErrNotAnEvent)
	}
	if err := ce.Validate(); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotAnEvent, err)
	}
	if len(ce.Data()) > MaxData {
		return Event{}, ErrTooLarge
	}
	return Event{
		ID: ce.ID(), Source: ce.Source(), Type: ce.Type(), Subject: ce.Subject(),
		ContentType: ce.DataContentType(), Data: ce.Data(),
	}, nil
}
