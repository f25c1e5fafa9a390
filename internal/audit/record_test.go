package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The canonical encoding is a stored format: these bytes must not change
// (a change would make every stored record fail to verify).
func TestCanonicalEncoding(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 120000000, time.UTC)
	prev := sha256.Sum256([]byte("previous"))
	k, err := parseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	ev := Record{Seq: 7, Kind: KindEvent, Time: when, Prev: prev, Event: Event{
		Actor: "key:ci", Action: "function.deploy", Target: "function:orders", Source: "[::1]:5000",
		Outcome: OK, Details: map[string]string{"version": "3", "b": "quote \" back\\slash\nnew\x01line\x7f é <&>"},
	}}
	ev.sign(k)
	evMACed := `{"v":2,"seq":7,"kind":"event","time":"2026-03-01T12:00:00.12Z","prev":"` + hex.EncodeToString(prev[:]) +
		`","actor":"key:ci","action":"function.deploy","target":"function:orders","source":"[::1]:5000","outcome":"ok",` +
		`"details":{"b":"quote \" back\\slash\nnew\u0001line\u007f é <&>","version":"3"},"key":"` + k.id + `"}`
	if got := string(ev.encode(partMACed)); got != evMACed {
		t.Fatalf("event MAC input\n got %s\nwant %s", got, evMACed)
	}
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte("pave audit event v2\n" + evMACed))
	if !hmac.Equal(ev.MAC, m.Sum(nil)) {
		t.Fatal("the event's MAC is not HMAC-SHA256 of the label and the body without mac and hash")
	}
	wantBody := evMACed[:len(evMACed)-1] + `,"mac":"` + hex.EncodeToString(ev.MAC) + `"}`
	if got := string(ev.encode(partBody)); got != wantBody {
		t.Fatalf("body\n got %s\nwant %s", got, wantBody)
	}
	sum := sha256.Sum256([]byte("pave audit record v1\n" + wantBody))
	if ev.Hash != sum {
		t.Fatalf("hash %s, want SHA-256 of the label and the body %x", ev.Hash, sum)
	}
	stored := ev.JSON()
	if want := wantBody[:len(wantBody)-1] + `,"hash":"` + hex.EncodeToString(sum[:]) + `"}`; string(stored) != want {
		t.Fatalf("stored\n got %s\nwant %s", stored, want)
	}
	// It is JSON, with the same values.
	var generic map[string]any
	if err := json.Unmarshal(stored, &generic); err != nil || generic["details"].(map[string]any)["b"] != ev.Event.Details["b"] {
		t.Fatalf("not the JSON of the record: %v %v", generic, err)
	}
	back, err := DecodeRecord(stored)
	if err != nil || back.Event.Details["b"] != ev.Event.Details["b"] || back.Seq != 7 || !back.Time.Equal(when) || !back.checkMAC(k) {
		t.Fatalf("decode: %+v, %v", back, err)
	}

	seal := Record{Seq: 8, Kind: KindSeal, Time: when, Prev: ev.Hash}
	seal.sign(k)
	macBody := `{"v":2,"seq":8,"kind":"seal","time":"2026-03-01T12:00:00.12Z","prev":"` + ev.Hash.String() + `","key":"` + k.id + `"}`
	if got := string(seal.encode(partMACed)); got != macBody {
		t.Fatalf("seal MAC input\n got %s\nwant %s", got, macBody)
	}
	m = hmac.New(sha256.New, k.mac)
	m.Write([]byte("pave audit seal v1\n" + macBody))
	if !hmac.Equal(seal.MAC, m.Sum(nil)) {
		t.Fatal("the seal's MAC is not HMAC-SHA256 of the label and the body without mac and hash")
	}
	wantSeal := macBody[:len(macBody)-1] + `,"mac":"` + hex.EncodeToString(seal.MAC) + `","hash":"` + seal.Hash.String() + `"}`
	if got := string(seal.JSON()); got != wantSeal {
		t.Fatalf("seal\n got %s\nwant %s", got, wantSeal)
	}
	if _, err := DecodeRecord([]byte(wantSeal)); err != nil {
		t.Fatal(err)
	}
}

// Format 1, in which only seals carry a MAC, still decodes and encodes
// back to the same bytes.
func TestFormat1Decodes(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := Record{Seq: 1, Kind: KindEvent, Time: when, version: legacyVersion, Event: Event{Actor: "admin", Action: "key.create", Outcome: OK}}
	ev.Hash = ev.sum()
	stored := ev.JSON()
	want := `{"v":1,"seq":1,"kind":"event","time":"2026-03-01T12:00:00Z","prev":"` + Hash{}.String() +
		`","actor":"admin","action":"key.create","target":"","source":"","outcome":"ok","details":{},"hash":"` + ev.Hash.String() + `"}`
	if string(stored) != want {
		t.Fatalf("got  %s\nwant %s", stored, want)
	}
	back, err := DecodeRecord(stored)
	if err != nil || back.authenticated() || back.format() != legacyVersion {
		t.Fatalf("decode: %+v, %v", back, err)
	}
	withMAC := strings.Replace(want, `"details":{}`, `"details":{},"key":"0000000000000000","mac":"`+Hash{}.String()+`"`, 1)
	if _, err := DecodeRecord([]byte(withMAC)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a format 1 event with a MAC: %v", err)
	}
}

func TestDecodeRecordRefusals(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	k, err := parseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	ev := Record{Seq: 1, Kind: KindEvent, Time: when, Event: Event{Actor: "admin", Action: "key.create", Outcome: OK}}
	ev.sign(k)
	good := string(ev.JSON())
	if _, err := DecodeRecord([]byte(good)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"null", "null", ErrMalformed},
		{"not an object", `[1]`, ErrMalformed},
		{"trailing data", good + "{}", ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"leading space", " " + good, ErrMalformed},
		{"field name case", strings.Replace(good, `"actor"`, `"Actor"`, 1), ErrMalformed},
		{"escaped letter", strings.Replace(good, `"admin"`, `"\u0061dmin"`, 1), ErrMalformed},
		{"duplicated field", strings.Replace(good, `"v":2,`, `"v":2,"v":2,`, 1), ErrMalformed},
		{"unknown field", strings.Replace(good, `"v":2,`, `"v":2,"x":1,`, 1), ErrMalformed},
		{"missing field", strings.Replace(good, `"source":"",`, ``, 1), ErrMalformed},
		{"other version", strings.Replace(good, `"v":2`, `"v":3`, 1), ErrMalformed},
		{"event without its mac", strings.Replace(good, `,"mac":"`+hex.EncodeToString(ev.MAC)+`"`, ``, 1), ErrMalformed},
		{"event without its key", strings.Replace(good, `,"key":"`+k.id+`"`, ``, 1), ErrMalformed},
		{"sequence 0", strings.Replace(good, `"seq":1`, `"seq":0`, 1), ErrMalformed},
		{"unknown kind", strings.Replace(good, `"kind":"event"`, `"kind":"other"`, 1), ErrMalformed},
		{"seal with event fields", strings.Replace(good, `"kind":"event"`, `"kind":"seal"`, 1), ErrMalformed},
		{"uppercase hex", strings.Replace(good, `"prev":"00`, `"prev":"0A`, 1), ErrMalformed},
		{"time zone", strings.Replace(good, `12:00:00Z`, `13:00:00+01:00`, 1), ErrMalformed},
		{"null details", strings.Replace(good, `"details":{}`, `"details":null`, 1), ErrMalformed},
		{"invalid UTF-8", strings.Replace(good, `"admin"`, "\"adm\xffn\"", 1), ErrMalformed},
		{"too large", good[:len(good)-1] + strings.Repeat(" ", MaxRecordSize) + "}", ErrMalformed},
		{"content changed", strings.Replace(good, `"admin"`, `"admix"`, 1), ErrHashMismatch},
		{"hash changed", good[:len(good)-3] + otherHexDigit(good[len(good)-3]) + `"}`, ErrHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecord([]byte(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// otherHexDigit returns a lowercase hex digit other than c.
func otherHexDigit(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// FuzzDecodeRecord: decoding never panics, and whatever decodes is in
// canonical form: it encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	fx := newFixture(f, 3)
	fx.record(f, 1, 4)
	if err := fx.a.Record(f.Context(), NewEvent(ActorAdmin, ActionDeploy, "").With("x", "é\n\"\x01")); err != nil {
		f.Fatal(err)
	}
	for _, e := range fx.log.entries {
		f.Add(e.Data)
	}
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrHashMismatch) {
				t.Fatalf("an error that is neither malformed nor a mismatch: %v", err)
			}
			return
		}
		if !bytes.Equal(r.JSON(), data) || !bytes.Equal(r.encode(partAll), data) {
			t.Fatalf("decoded %q, encodes to %q", data, r.JSON())
		}
		if r.sum() != r.Hash {
			t.Fatal("decoded a record whose hash does not match")
		}
	})
}
