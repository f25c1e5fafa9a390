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
