// Command notes is a pave function that keeps JSON notes in a key-value
// bucket and announces each new note to a chat webhook. It shows the three
// capabilities a typical function needs, each granted in its pave.yaml and
// nothing more:
//
//   - kv: the bucket notes, for writing;
//   - secrets: NOTES_WEBHOOK_URL, the webhook's URL, which carries its own
//     token (as chat services' incoming webhooks do) and so is a secret;
//   - http: the one host that URL may point at.
//
// Routes:
//
//	POST /notes        stores the JSON object sent; 201 {"id", "announced", "detail"}
//	GET  /notes        {"ids": [...]}: the ids of the stored notes, oldest first by id
//	GET  /notes/{id}   the note, as stored; 404 if there is none
//
// Announcing is best effort: a note is stored whether or not the webhook is
// set or answers, and the response says which. Build it as a WASI reactor
// module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o notes.wasm .
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/httpc"
	"github.com/pave-dev/pave/sdk/kv"
	"github.com/pave-dev/pave/sdk/secrets"
)

// webhookSecret names the secret that holds the webhook's URL.
const webhookSecret = "NOTES_WEBHOOK_URL"

// keyPrefix is where notes live in the bucket.
const keyPrefix = "note/"

var bucket = kv.Open("notes")

func init() {
	pave.Handle(serve)
}

func serve(r *pave.Request) (*pave.Response, error) {
	switch r.Method + " " + r.Route {
	case "POST /notes":
		return create(r)
	case "GET /notes":
		return list()
	case "GET /notes/{id}":
		return get(r.Param("id"))
	}
	return pave.JSON(404, map[string]string{"error": "no such route"}), nil
}

// storeFailure answers a failed bucket call: the store may be briefly
// unavailable; anything else is a bug worth a 502 and a log line.
func storeFailure(err error) (*pave.Response, error) {
	if errors.Is(err, kv.ErrUnavailable) {
		return pave.JSON(503, map[string]string{"error": "notes are unavailable right now; retry later"}), nil
	}
	return nil, err
}

func create(r *pave.Request) (*pave.Response, error) {
	var note map[string]json.RawMessage
	if err := r.DecodeJSON(&note); err != nil || note == nil {
		return pave.JSON(400, map[string]string{"error": "the body must be a JSON object"}), nil
	}
	stored, _ := json.Marshal(note) // compact, keys sorted
	id := newID()
	// CAS at revision 0 creates the key only if it is new: two notes can
	// never overwrite each other, however unlikely a repeated id is.
	if _, err := bucket.CAS(keyPrefix+id, stored, 0); err != nil {
		return storeFailure(err)
	}
	announced, detail := announce(id)
	return pave.JSON(201, map[string]any{"id": id, "announced": announced, "detail": detail}), nil
}

// announce posts a message about note id to the webhook, if one is set.
func announce(id string) (bool, string) {
	url, err := secrets.Get(webhookSecret)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		return false, "set the " + webhookSecret + " secret to announce new notes"
	case err != nil:
		pave.Warnf("reading the webhook URL: %v", err)
		return false, "the webhook URL cannot be read right now"
	}
	msg, _ := json.Marshal(map[string]string{"text": "New note " + id})
	resp, err := httpc.Post(strings.TrimSpace(url), "application/json", msg)
	if err != nil {
		// The error names the host at most, never the URL's path, which
		// holds the webhook's token.
		pave.Warnf("announcing note %s: %v", id, err)
		return false, "the webhook could not be reached"
	}
	if resp.Status < 200 || resp.Status > 299 {
		return false, fmt.Sprintf("the webhook answered %d", resp.Status)
	}
	return true, "announced"
}

func list() (*pave.Response, error) {
	keys, err := bucket.List(keyPrefix)
	if err != nil {
		return storeFailure(err)
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, strings.TrimPrefix(k, keyPrefix))
	}
	return pave.JSON(200, map[string]any{"ids": ids}), nil
}

func get(id string) (*pave.Response, error) {
	if !validID(id) {
		return pave.JSON(404, map[string]string{"error": "no such note"}), nil
	}
	v, _, err := bucket.Get(keyPrefix + id)
	if errors.Is(err, kv.ErrNotFound) {
		return pave.JSON(404, map[string]string{"error": "no such note"}), nil
	}
	if err != nil {
		return storeFailure(err)
	}
	return pave.Bytes(200, "application/json", v), nil
}

// newID returns a random note id. crypto/rand is real randomness in every
// invocation; math/rand would repeat across invocations of a snapshot.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func main() {}
