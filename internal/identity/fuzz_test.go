package identity

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fuzzToken is the secret of a key stored directly as a record, so that it
// is the same in every fuzzing worker and the seeds can use it.
const fuzzToken = KeyPrefix + "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"

// FuzzAuthenticate passes arbitrary Authorization header values through
// BearerToken and Authenticate: only the exact secret of a stored key may
// authenticate, as that key, and nothing panics.
func FuzzAuthenticate(f *testing.F) {
	recs := newMem()
	rec, err := json.Marshal(&Key{Name: "fixed", Hash: hashOf(fuzzToken), Functions: []string{"fn"}, CreatedAt: time.Now().UTC()})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := recs.Put(context.Background(), "fixed", rec); err != nil {
		f.Fatal(err)
	}
	keys, err := NewKeys(context.Background(), recs)
	if err != nil {
		f.Fatal(err)
	}
	// A key made the ordinary way too; its secret differs in every worker,
	// so the fuzzer can only reach it by chance, but it must never match
	// anything else.
	created, _, err := keys.Create(context.Background(), "created", []string{"fn"}, KeyOptions{})
	if err != nil {
		f.Fatal(err)
	}
	secrets := map[string]string{fuzzToken: "fixed", created.Reveal(): "created"}

	for _, s := range []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer " + fuzzToken,
		"bearer " + fuzzToken,
		"BEARER " + fuzzToken,
		"Bearer  " + fuzzToken + " \t",
		"Bearer " + fuzzToken + "x",
		"Bearer " + fuzzToken[:len(fuzzToken)-1],
		"Bearer " + strings.ToUpper(fuzzToken),
		"Bearer " + fuzzToken + "\x00",
		"Basic " + fuzzToken,
		fuzzToken,
		" " + fuzzToken + "\n",
		"Bearer" + fuzzToken,
		"Bearer\t" + fuzzToken,
		"Bearer " + hashOf(fuzzToken),
		"Bearer " + KeyPrefix,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token := BearerToken(header)
		key, err := keys.Authenticate(token)
		name, known := secrets[token]
		switch {
		case known && err != nil:
			t.Fatalf("header %q carries the secret of %q but does not authenticate: %v", header, name, err)
		case known && key.Name != name:
			t.Fatalf("header %q authenticated as %q, want %q", header, key.Name, name)
		case !known && err == nil:
			t.Fatalf("header %q (token %q) authenticated as %q", header, token, key.Name)
		case !known && key != nil:
			t.Fatalf("a failed authentication returned key %q", key.Name)
		}
		if err != nil {
			want := ErrUnknownKey
			if token == "" {
				want = ErrNoCredential
			}
			// The bare sentinel: an error that wrapped it could carry
			// the token into a log line.
			if err != want {
				t.Fatalf("error %v, want %v", err, want)
			}
		} else if !strings.Contains(header, token) || len(header) <= len("Bearer ") ||
			!strings.EqualFold(header[:len("Bearer ")], "Bearer ") {
			t.Fatalf("header %q is not a bearer credential of %q", header, key.Name)
		}
		// Authenticate itself matches exactly: the whole header value is
		// a secret only when it is one byte for byte.
		key, err = keys.Authenticate(header)
		if name, known := secrets[header]; known != (err == nil) || (known && key.Name != name) {
			t.Fatalf("Authenticate(%q) = %v, %v", header, key, err)
		}
	})
}
