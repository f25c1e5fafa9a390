package cli

import (
	"flag"
	"slices"
	"testing"

	"github.com/pave-dev/pave/client"
)

func TestCurlCommand(t *testing.T) {
	const gw, key = "http://127.0.0.1:8080", "pave_k_123"
	tests := []struct {
		route  client.Route
		values map[string]string
		want   string
	}{
		{
			client.Route{Method: "GET", Path: "/hello", Auth: "api-key"}, nil,
			`curl -H 'Authorization: Bearer pave_k_123' http://127.0.0.1:8080/hello`,
		},
		{
			client.Route{Method: "POST", Path: "/echo", Auth: "api-key"}, nil,
			`curl -H 'Authorization: Bearer pave_k_123' -H 'Content-Type: application/json' -d '{"hello":"world"}' http://127.0.0.1:8080/echo`,
		},
		{
			client.Route{Method: "PUT", Path: "/users/{id}", Public: true}, nil,
			`curl -X PUT -H 'Content-Type: application/json' -d '{"hello":"world"}' http://127.0.0.1:8080/users/id`,
		},
		{
			client.Route{Method: "HEAD", Path: "/", Public: true}, nil,
			`curl -I http://127.0.0.1:8080/`,
		},
		{
			client.Route{Method: "GET", Path: "/notes/{id}/{part}", Public: true}, map[string]string{"id": "a b/c"},
			`curl http://127.0.0.1:8080/notes/a%20b%2Fc/part`,
		},
		{
			client.Route{Method: "DELETE", Path: "/files/{rest...}", Auth: "api-key"}, nil,
			`curl -X DELETE -H 'Authorization: Bearer pave_k_123' http://127.0.0.1:8080/files/rest`,
		},
	}
	for _, tt := range tests {
		if got := curlCommand(gw, tt.route, key, tt.values); got != tt.want {
			t.Errorf("curlCommand(%s %s) =\n%s\nwant\n%s", tt.route.Method, tt.route.Path, got, tt.want)
		}
	}
}

func TestTakeUpFlags(t *testing.T) {
	tests := []struct {
		args        []string
		wantRest    []string
		wantVerbose bool
		wantErr     string
	}{
		{args: nil, wantRest: nil},
		{args: []string{"--verbose"}, wantVerbose: true},
		{args: []string{"-verbose=false"}, wantVerbose: false},
		{
			args:        []string{"--data", "d", "--verbose", "--listen=:9000"},
			wantRest:    []string{"--data", "d", "--listen=:9000"},
			wantVerbose: true,
		},
		{args: []string{"--", "--verbose"}, wantRest: []string{"--", "--verbose"}},
		{args: []string{"--verbose=maybe"}, wantErr: `up: invalid value "maybe" for flag -verbose: parse error (see 'pave up --help')`},
		{args: []string{"--data", "d", "-h"}, wantErr: "flag: help requested"},
	}
	for _, tt := range tests {
		inv := &invocation{cmd: upCommand, fs: flag.NewFlagSet("pave up", flag.ContinueOnError)}
		verbose := inv.fs.Bool("verbose", false, "")
		rest, err := takeUpFlags(inv, tt.args)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("takeUpFlags(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(rest, tt.wantRest) || *verbose != tt.wantVerbose {
			t.Errorf("takeUpFlags(%q) = %q, verbose %v, %v; want %q, verbose %v",
				tt.args, rest, *verbose, err, tt.wantRest, tt.wantVerbose)
		}
	}
}
