package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseAsync(t *testing.T) {
	const head = "name: a\nowner: o\nasync:\n"
	tests := []struct {
		name string
		in   string // the async mapping, indented
		want Async
	}{
		{"empty", "  {}\n", DefaultAsync()},
		{"retries only", "  retries: 5\n", Async{Retries: 5, Backoff: DefaultBackoff}},
		{"backoff only", "  backoff: 500ms\n", Async{Retries: DefaultRetries, Backoff: 500 * time.Millisecond}},
		{"no retries", "  retries: 0\n", Async{Retries: 0, Backoff: DefaultBackoff}},
		{"lowest bounds", "  retries: 0\n  backoff: 10ms\n", Async{Retries: 0, Backoff: MinBackoff}},
		{"highest bounds", "  retries: 20\n  backoff: 1h\n", Async{Retries: MaxRetries, Backoff: MaxBackoff}},
		{"backoff in minutes", "  backoff: 1m30s\n", Async{Retries: DefaultRetries, Backoff: 90 * time.Second}},
		{"callbacks", "  callbacks: [hooks.example.com, \"*.example.org:8443\"]\n  callback_secret: CALLBACK_KEY\n", Async{
			Retries:        DefaultRetries,
			Backoff:        DefaultBackoff,
			Callbacks:      []string{"hooks.example.com", "*.example.org:8443"},
			CallbackSecret: "CALLBACK_KEY",
		}},
		{"no callbacks listed", "  callbacks: []\n", DefaultAsync()},
		{"everything", "  retries: 5\n  backoff: 500ms\n  callbacks:\n    - hooks.example.com\n  callback_secret: hooks.key-2\n", Async{
			Retries:        5,
			Backoff:        500 * time.Millisecond,
			Callbacks:      []string{"hooks.example.com"},
			CallbackSecret: "hooks.key-2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(head+tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Async, tt.want) {
				t.Errorf("Async = %+v, want %+v", m.Async, tt.want)
			}
		})
	}
}

func TestParseAsyncErrors(t *testing.T) {
	const head = "name: a\nowner: o\nasync:\n"
	var hosts []string
	for i := range MaxCallbacks + 1 {
		hosts = append(hosts, fmt.Sprintf("h%d.example.com", i))
	}
	tooMany := "  callbacks: [" + strings.Join(hosts, ", ") + "]\n  callback_secret: K\n"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"async is a list", head + "  - retries: 1\n", []wantErr{
			{4, "async", "expected a mapping, found a list"},
		}},
		{"async is null", head, []wantErr{
			{3, "async", "expected a mapping, found null"},
		}},
		{"unknown field", head + "  retrys: 1\n", []wantErr{
			{4, "async", `unknown field "retrys"; did you mean "retries"?`},
		}},
		{"duplicate field", head + "  retries: 1\n  retries: 2\n", []wantErr{
			{5, "async", `duplicate field "retries"; it is already set on line 4`},
		}},

		// Retries.
		{"retries negative", head + "  retries: -1\n", []wantErr{
			{4, "async.retries", "-1 is below the minimum of 0"},
		}},
		{"retries above maximum", head + "  retries: 21\n", []wantErr{
			{4, "async.retries", "21 is above the maximum of 20"},
		}},
		{"retries a string", head + "  retries: \"3\"\n", []wantErr{
			{4, "async.retries", `expected an integer, found string "3"`},
		}},
		{"retries a float", head + "  retries: 2.5\n", []wantErr{
			{4, "async.retries", "expected an integer, found float 2.5"},
		}},

		// Backoff.
		{"backoff without unit", head + "  backoff: 500\n", []wantErr{
			{4, "async.backoff", `duration 500 has no unit; write it with one, such as "500s" or "500ms"`},
		}},
		{"backoff malformed", head + "  backoff: soon\n", []wantErr{
			{4, "async.backoff", `invalid duration "soon": use a number with a unit, such as "500ms", "10s" or "2m"`},
		}},
		{"backoff below minimum", head + "  backoff: 9ms\n", []wantErr{
			{4, "async.backoff", "9ms is below the minimum of 10ms"},
		}},
		{"backoff zero", head + "  backoff: 0s\n", []wantErr{
			{4, "async.backoff", "0s is below the minimum of 10ms"},
		}},
		{"backoff above maximum", head + "  backoff: 1h0m1s\n", []wantErr{
			{4, "async.backoff", "1h0m1s is above the maximum of 3600s"},
		}},
		{"backoff a mapping", head + "  backoff: {s: 1}\n", []wantErr{
			{4, "async.backoff", `expected a duration such as "10s", found a mapping`},
		}},

		// Callbacks and their secret.
		{"callbacks a string", head + "  callbacks: hooks.example.com\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks", `expected a list of strings, found string "hooks.example.com"`},
		}},
		{"too many callbacks", head + tooMany, []wantErr{
			{4, "async.callbacks", "17 entries; at most 16"},
		}},
		{"callback URL instead of host", head + "  callbacks: [\"https://hooks.example.com/x\"]\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks[0]", `invalid host "https://hooks.example.com/x": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`},
		}},
		{"callback to any host", head + "  callbacks: [\"*\"]\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks[0]", `invalid host "*": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`},
		}},
		{"callback port zero", head + "  callbacks: [\"hooks.example.com:0\"]\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks[0]", `invalid port in "hooks.example.com:0"`},
		}},
		{"callback listed twice", head + "  callbacks: [a.example, b.example, a.example]\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks[2]", `"a.example" is listed twice`},
		}},
		{"callbacks without secret", head + "  retries: 1\n  callbacks: [hooks.example.com]\n", []wantErr{
			{4, "async", "callbacks need a callback_secret: the name of the secret that signs them"},
		}},
		{"secret without callbacks", head + "  callback_secret: K\n", []wantErr{
			{4, "async.callback_secret", "callback_secret signs callbacks, but no callbacks are listed"},
		}},
		{"secret with an empty list", head + "  callbacks: []\n  callback_secret: K\n", []wantErr{
			{5, "async.callback_secret", "callback_secret signs callbacks, but no callbacks are listed"},
		}},
		{"secret invalid", head + "  callbacks: [hooks.example.com]\n  callback_secret: 1KEY\n", []wantErr{
			{5, "async.callback_secret", `invalid secret name "1KEY": a letter, then up to 127 letters, digits, '_', '.' or '-'`},
		}},
		{"secret a list", head + "  callbacks: [hooks.example.com]\n  callback_secret: [K]\n", []wantErr{
			{5, "async.callback_secret", "expected a string, found a list"},
		}},
		{"secret with only bad hosts", head + "  callbacks: [\"Hooks.Example.com\"]\n  callback_secret: K\n", []wantErr{
			{4, "async.callbacks[0]", `invalid host "Hooks.Example.com": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`},
		}},

		{"several problems", head + "  retries: 99\n  backoff: 1ms\n  callbacks: [\"x y\"]\n", []wantErr{
			{4, "async", "callbacks need a callback_secret: the name of the secret that signs them"},
			{4, "async.retries", "99 is above the maximum of 20"},
			{5, "async.backoff", "1ms is below the minimum of 10ms"},
			{6, "async.callbacks[0]", `invalid host "x y": a lowercase DNS name with an optional :port, such as api.example.com or *.example.com:8443`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(tt.src))
			if m != nil {
				t.Fatalf("Parse returned a manifest along with errors: %+v", m.Async)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestAsyncJSON(t *testing.T) {
	// Deployed versions are stored as JSON: the settings must survive it.
	a := Async{Retries: 0, Backoff: 500 * time.Millisecond, Callbacks: []string{"hooks.example.com"}, CallbackSecret: "K"}
	text, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	// retries is written even when 0: no retries is a setting, not an
	// absence of one.
	const want = `{"retries":0,"backoff":500000000,"callbacks":["hooks.example.com"],"callback_secret":"K"}`
	if string(text) != want {
		t.Errorf("JSON = %s, want %s", text, want)
	}
	var back Async
	if err := json.Unmarshal(text, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Errorf("after a round trip through JSON: %+v, want %+v", back, a)
	}
}
