package config

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The files that run a node outside a checkout: they must name flags and
// variables that exist, and make a configuration that validates.
const (
	unitFile   = "../../deploy/pave.service"
	envFile    = "../../deploy/pave.env"
	dockerfile = "../../Dockerfile"
)

// serveUsage is the help of pave serve, which names every flag and variable.
func serveUsage(t *testing.T) string {
	t.Helper()
	var usage strings.Builder
	if _, err := ParseServe([]string{"-h"}, func(string) string { return "" }, &usage); err == nil {
		t.Fatal("-h parsed without error")
	}
	return usage.String()
}

// TestSystemdUnit: the unit's command line is a valid pave serve, the
// variables its environment file shows are pave's, and it does not forbid
// the writable, executable memory wazero's compiler needs.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	var exec []string
	for line := range strings.Lines(string(unit)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			exec = strings.Fields(v)
		}
		if strings.HasPrefix(strings.TrimSpace(line), "MemoryDenyWriteExecute=") {
			t.Error("the unit sets MemoryDenyWriteExecute, which stops wazero from compiling functions")
		}
	}
	if len(exec) < 2 || exec[1] != "serve" {
		t.Fatalf("ExecStart %q: want pave serve", exec)
	}
	c, err := ParseServe(exec[2:], func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("ExecStart %q: %v", exec, err)
	}
	if c.DataDir != "/var/lib/pave" || !strings.Contains(string(unit), "StateDirectory=pave") {
		t.Errorf("data directory %s: want /var/lib/pave, the unit's StateDirectory", c.DataDir)
	}
	if !strings.HasPrefix(c.AdminAddr, "127.0.0.1:") {
		t.Errorf("the unit exposes the admin API on %s", c.AdminAddr)
	}
	usage := serveUsage(t)
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`PAVE_[A-Z_]+`).FindAllString(string(env), -1) {
		if !strings.Contains(usage, "("+name) {
			t.Errorf("%s names %s, which pave serve does not read", envFile, name)
		}
	}
}

// TestDockerfile: the image runs a valid pave serve from its environment,
// with the gateway on every interface and the admin API on loopback, built
// by a Go as new as go.mod asks for.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	var entrypoint []string
	var goImage string
	sc := bufio.NewScanner(f)
	var pending string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		switch {
		case strings.HasPrefix(line, "ENV "):
			for _, kv := range strings.Fields(strings.TrimPrefix(line, "ENV ")) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case strings.HasPrefix(line, "ENTRYPOINT "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "ENTRYPOINT ")), &entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT: %v", err)
			}
		case strings.HasPrefix(line, "FROM golang:"):
			goImage = strings.Fields(strings.TrimPrefix(line, "FROM golang:"))[0]
		}
	}
	if len(entrypoint) < 2 || entrypoint[1] != "serve" {
		t.Fatalf("ENTRYPOINT %q: want pave serve", entrypoint)
	}
	c, err := ParseServe(entrypoint[2:], func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("the image's configuration: %v", err)
	}
	if c.GatewayAddr != "0.0.0.0:8080" || !strings.HasPrefix(c.AdminAddr, "127.0.0.1:") || c.DataDir != "/data" {
		t.Errorf("gateway %s, admin %s, data %s: want 0.0.0.0:8080, loopback, /data", c.GatewayAddr, c.AdminAddr, c.DataDir)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if want == nil || !strings.HasPrefix(goImage, string(want[1])) {
		t.Errorf("the build image is golang:%s, go.mod asks for go %s", goImage, want[1])
	}
}

// TestTLSFlags: a certificate goes with its key, and the admin API takes the
// gateway's pair unless it has its own.
func TestTLSFlags(t *testing.T) {
	none := func(string) string { return "" }
	for _, tt := range []struct {
		args          []string
		gateway, admn TLS
		err           string
	}{
		{nil, TLS{}, TLS{}, ""},
		{[]string{"--tls-cert", "c", "--tls-key", "k"}, TLS{"c", "k"}, TLS{"c", "k"}, ""},
		{[]string{"--tls-cert", "c", "--tls-key", "k", "--admin-tls-cert", "ac", "--admin-tls-key", "ak"}, TLS{"c", "k"}, TLS{"ac", "ak"}, ""},
		{[]string{"--admin-tls-cert", "ac", "--admin-tls-key", "ak"}, TLS{}, TLS{"ac", "ak"}, ""},
		{[]string{"--tls-cert", "c"}, TLS{}, TLS{}, "--tls-cert and --tls-key go together"},
		{[]string{"--admin-tls-key", "k"}, TLS{}, TLS{}, "--admin-tls-cert and --admin-tls-key go together"},
	} {
		c, err := ParseServe(tt.args, none, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || c.GatewayTLS != tt.gateway || c.AdminTLS != tt.admn {
			t.Errorf("%q: gateway %v admin %v, %v; want %v %v", tt.args, c.GatewayTLS, c.AdminTLS, err, tt.gateway, tt.admn)
		}
	}
}
