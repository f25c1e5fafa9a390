package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestObservabilityFlags(t *testing.T) {
	env := map[string]string{EnvHistoryMaxAge: "48h", EnvAuditFile: "/var/log/pave-audit.jsonl"}
	c, err := ParseServe([]string{"--data", t.TempDir(), "--history-max-bytes", "256MiB", "--auto-quarantine-after", "2160h",
		"--deploy-fail-on", "high", "--metrics-listen", "127.0.0.1:9090"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Observability
	if o.HistoryMaxAge != 48*time.Hour || o.HistoryMaxBytes != 256<<20 || o.AutoQuarantineAfter != 2160*time.Hour ||
		o.DeployFailOn != "high" || o.MetricsAddr != "127.0.0.1:9090" || o.AuditFile != "/var/log/pave-audit.jsonl" ||
		o.UnusedAfter != DefaultUnusedAfter {
		t.Errorf("parsed %+v", o)
	}
	if d := Default().Observability; d.HistoryMaxAge != DefaultHistoryMaxAge || d.AutoQuarantineAfter != 0 || d.DeployFailOn != "" {
		t.Errorf("defaults %+v", d)
	}
}

func TestObservabilityFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--history-max-age", "soon"}, "--history-max-age"},
		{[]string{"--history-max-age", "10s"}, "want at least 1m"},
		{[]string{"--history-max-bytes", "lots"}, "--history-max-bytes"},
		{[]string{"--history-max-bytes", "1KiB"}, "want at least 1MiB"},
		{[]string{"--auto-quarantine-after", "5m"}, "want 0 (off) or at least 1h"},
		{[]string{"--deploy-fail-on", "severe"}, "want one of info, low, medium, high, critical"},
		{[]string{"--metrics-listen", "nowhere"}, "want host:port"},
		{[]string{"--unused-after", "1m"}, "want at least 1h"},
	} {
		_, err := ParseServe(append([]string{"--data", t.TempDir()}, tt.args...), func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1KiB": 1 << 10, "64 MiB": 64 << 20, "1GiB": 1 << 30, "2GB": 2 << 30, "1TiB": 1 << 40, "5B": 5} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "GiB", "1PiB", "99999999999TiB", "0x10"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
}
