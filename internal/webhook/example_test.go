package webhook_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/webhook"
)

func ExampleVerifier_Verify_github() {
	// The secret configured both on GitHub and for the route.
	whsec := rand.Text()

	// One cache for all routes; each route's Namespace keeps it apart.
	cache := webhook.NewReplayCache(24*time.Hour, 100_000)
	v, err := webhook.New(webhook.Config{
		Scheme:    webhook.GitHub,
		Secrets:   []secret.Value{secret.Value(whsec)},
		Namespace: "deploy-bot POST /github",
	}, cache)
	if err != nil {
		fmt.Println(err)
		return
	}

	// What GitHub sends.
	body := []byte(`{"action":"opened","number":7}`)
	m := hmac.New(sha256.New, []byte(whsec))
	m.Write(body)
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")

	id, err := v.Verify(h, body, time.Now())
	fmt.Println("accepted:", id, err)

	_, err = v.Verify(h, body, time.Now())
	fmt.Println("again:", errors.Is(err, webhook.ErrReplay))

	_, err = v.Verify(h, []byte(`{"action":"closed","number":7}`), time.Now())
	fmt.Println("tampered:", errors.Is(err, webhook.ErrBadSignature))
	// Output:
	// accepted: 72d3162e-cc78-11e3-81ab-4c9367dc0958 <nil>
	// again: true
	// tampered: true
}
