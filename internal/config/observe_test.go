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

// TestHistoryMaxBytesGrammar checks that --history-max-bytes reads sizes
// as manifests do: "10MB" was once taken as 10MiB and is now refused, with
// the flag and the accepted form named.
func TestHistoryMaxBytesGrammar(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64MiB": 64 << 20, "2GiB": 2 << 30, "4096KiB": 4 << 20} {
		c, err := ParseServe([]string{"--data", t.TempDir(), "--history-max-bytes", in}, func(string) string { return "" }, io.Discard)
		if err != nil || c.Observability.HistoryMaxBytes != want {
			t.Errorf("--history-max-bytes %s: %v; want %d", in, err, want)
		}
	}
	for _, bad := range []string{"10MB", "1TiB", "64 MiB", " 1GiB", "1.5GiB", "-1", "0x10", "99999999999GiB"} {
		_, err := ParseServe([]string{"--data", t.TempDir(), "--history-max-bytes", bad}, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--history-max-bytes: invalid size") {
			t.Errorf("--history-max-bytes %q: %v; want it refused, naming the flag", bad, err)
		}
	}
	_, err := ParseServe([]string{"--data", t.TempDir()}, func(k string) string {
		if k == EnvHistoryMaxBytes {
			return "10MB"
		}
		return ""
	}, io.Discard)
	want := `--history-max-bytes: invalid size "10MB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s=10MB: %v; want %s", EnvHistoryMaxBytes, err, want)
	}
}
