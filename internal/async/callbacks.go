package async

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pave-dev/pave/internal/egress"
	"github.com/pave-dev/pave/internal/registry"
)

// Headers of a callback.
const (
	// HeaderSignature signs a callback: "t=UNIX,v1=HEX", HEX being the
	// HMAC-SHA256, under the callback secret, of UNIX, a full stop and
	// the body.
	HeaderSignature = "Pave-Signature"
	// HeaderCallID carries the call's id, on a callback and on the
	// request of a function run from the queue.
	HeaderCallID = "Pave-Call-Id"
)

// Functions finds deployed functions; *registry.Registry provides it.
type Functions interface {
	Get(name string) (*registry.Function, bool)
}

// CallbackSecrets reads the value of the secret a function's
// async.callback_secret names.
type CallbackSecrets interface {
	CallbackSecret(ctx context.Context, name string) ([]byte, error)
}

// Sender checks and sends the callbacks of asynchronous calls: a URL must
// be allowed by the function's async.callbacks grants, under the same
// outbound rules as the http capability, and the body is signed with the
// secret async.callback_secret names.
type Sender struct {
	fns     Functions
	secrets CallbackSecrets
	http    *egress.Client
	now     func() time.Time
}

var _ Callbacks = (*Sender)(nil)

// NewSender returns a Sender that sends through client.
func NewSender(fns Functions, secrets CallbackSecrets, client *egress.Client) *Sender {
	return &Sender{fns: fns, secrets: secrets, http: client, now: time.Now}
}

func (c *Sender) session(f *registry.Function) (*egress.Session, error) {
	a := f.Current().Async
	if len(a.Callbacks) == 0 {
		return nil, errors.New("the function's manifest grants no callback hosts")
	}
	grants := make([]egress.Grant, 0, len(a.Callbacks))
	for _, s := range a.Callbacks {
		g, err := egress.ParseGrant(s)
		if err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return c.http.Session(grants), nil
}

// CheckCallback says whether f may be called back at url, before a call
// is accepted.
func (c *Sender) CheckCallback(f *registry.Function, url string) error {
	s, err := c.session(f)
	if err != nil {
		return err
	}
	return s.Check(url)
}

// Send posts the call record body to url, signed, and wants a 2xx answer.
func (c *Sender) Send(ctx context.Context, function, url string, body []byte) error {
	f, ok := c.fns.Get(function)
	if !ok {
		return errors.New("the function is no longer deployed")
	}
	s, err := c.session(f)
	if err != nil {
		return err
	}
	secret, err := c.secrets.CallbackSecret(ctx, f.Current().Async.CallbackSecret)
	if err != nil {
		return fmt.Errorf("callback secret: %w", err)
	}
	var call struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &call)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderSignature, sign(secret, c.now(), body))
	h.Set(HeaderCallID, call.ID)
	resp, err := s.Do(ctx, egress.Request{Method: http.MethodPost, URL: url, Header: h, Body: body})
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("the callback URL answered %d", resp.Status)
	}
	return nil
}

// sign returns the HeaderSignature value of body sent at t.
func sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
