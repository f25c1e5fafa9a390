package config

import (
	"io"
	"testing"
)

func TestParseServeMaxLoadedModules(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int // 0: refused
	}{
		{"default", nil, nil, DefaultMaxLoadedModules},
		{"environment", nil, map[string]string{EnvMaxLoaded: "300"}, 300},
		{"flag over environment", []string{"--max-loaded-modules", "8"}, map[string]string{EnvMaxLoaded: "300"}, 8},
		{"zero", []string{"--max-loaded-modules", "0"}, nil, 0},
		{"negative", []string{"--max-loaded-modules", "-3"}, nil, 0},
		{"too many", []string{"--max-loaded-modules", "1000000"}, nil, 0},
		{"not a number", nil, map[string]string{EnvMaxLoaded: "lots"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("accepted, as %d", c.MaxLoadedModules)
			case tt.want != 0 && err != nil:
				t.Fatal(err)
			case tt.want != 0 && c.MaxLoadedModules != tt.want:
				t.Fatalf("MaxLoadedModules = %d, want %d", c.MaxLoadedModules, tt.want)
			}
		})
	}
}

func TestParseServeNATSURL(t *testing.T) {
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"embedded", "", true},
		{"one server", "nats://n1:4222", true},
		{"tls", "tls://n1:4222", true},
		{"three servers of a cluster", "nats://n1:4222,nats://n2:4222,nats://n3:4222", true},
		{"spaces after the commas", "nats://n1:4222, nats://n2:4222", true},
		{"no scheme", "n1:4222", false},
		{"another scheme", "http://n1:4222", false},
		{"one bad of two", "nats://n1:4222,n2:4222", false},
		{"an empty entry", "nats://n1:4222,", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseServe([]string{"--nats-url", tt.url}, func(string) string { return "" }, io.Discard)
			switch {
			case tt.ok && err != nil:
				t.Fatal(err)
			case !tt.ok && err == nil:
				t.Fatalf("accepted %q", c.NATSURL)
			case tt.ok && c.NATSURL != tt.url:
				t.Fatalf("NATSURL = %q, want %q", c.NATSURL, tt.url)
			}
		})
	}
}

func TestParseServeReplicas(t *testing.T) {
	cluster := map[string]string{EnvNATSURL: "nats://127.0.0.1:4222"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int // 0: refused
	}{
		{"default", nil, nil, 1},
		{"environment", nil, map[string]string{EnvNATSURL: "nats://n1:4222", EnvReplicas: "3"}, 3},
		{"flag over environment", []string{"--replicas", "5"}, map[string]string{EnvNATSURL: "nats://n1:4222", EnvReplicas: "3"}, 5},
		{"embedded server", []string{"--replicas", "3"}, nil, 0},
		{"one on the embedded server", []string{"--replicas", "1"}, nil, 1},
		{"zero", []string{"--replicas", "0"}, cluster, 0},
		{"more than JetStream keeps", []string{"--replicas", "6"}, cluster, 0},
		{"not a number", nil, map[string]string{EnvNATSURL: "nats://n1:4222", EnvReplicas: "three"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("accepted, as %d", c.Replicas)
			case tt.want != 0 && err != nil:
				t.Fatal(err)
			case tt.want != 0 && c.Replicas != tt.want:
				t.Fatalf("Replicas = %d, want %d", c.Replicas, tt.want)
			}
		})
	}
}
