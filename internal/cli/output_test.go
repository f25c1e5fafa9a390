package cli

import (
	"bytes"
	"flag"
	"io"
	"testing"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/hello", "http://127.0.0.1:8080/hello"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"/a?b=1&c=2", "'/a?b=1&c=2'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{64 << 20, "64 MiB"},
		{2202009, "2.1 MiB"},
		{4 << 30, "4 GiB"},
		{3 << 40, "3 TiB"},
		{5 << 50, "5120 TiB"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.n); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestShortDigest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sha256:0123456789abcdef0123", "sha256:0123456789ab"},
		{"sha256:0123", "sha256:0123"},
		{"", ""},
		{"opaque", "opaque"},
	}
	for _, tt := range tests {
		if got := shortDigest(tt.in); got != tt.want {
			t.Errorf("shortDigest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatFlag(t *testing.T) {
	const note = "pave: --json is deprecated; use --format json\n"
	for _, tc := range []struct {
		formats []string
		args    []string
		want    string
		note    bool
		wantErr bool
	}{
		{formats: []string{"table", "json"}, want: "table"},
		{formats: []string{"table", "json"}, args: []string{"--format", "json"}, want: "json"},
		{formats: []string{"table", "json"}, args: []string{"--format=text"}, want: "table"},
		{formats: []string{"text", "json"}, args: []string{"--format", "table"}, want: "text"},
		{formats: []string{"table", "json"}, args: []string{"--json"}, want: "json", note: true},
		{formats: []string{"table", "json"}, args: []string{"--json", "--format", "json"}, want: "json", note: true},
		{formats: []string{"dot", "json"}, args: []string{"--format", "table"}, wantErr: true},
		{formats: []string{"table", "json", "sarif"}, args: []string{"--json", "--format", "sarif"}, wantErr: true},
		{formats: []string{"table", "json"}, args: []string{"--format", "yaml"}, wantErr: true},
	} {
		var stderr bytes.Buffer
		fs := flag.NewFlagSet("pave ls", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		inv := &invocation{env: &env{stderr: &stderr}, cmd: lsCommand, fs: fs}
		format := inv.formatFlag(tc.formats...)
		if _, err := inv.parse(tc.args, 0, 0); err != nil {
			t.Fatal(err)
		}
		got, err := format()
		if tc.wantErr {
			if err == nil {
				t.Errorf("%v %q: %q, want an error", tc.formats, tc.args, got)
			}
			continue
		}
		if err != nil || got != tc.want || (stderr.String() == note) != tc.note {
			t.Errorf("%v %q: %q, %v, stderr %q; want %q, note %v", tc.formats, tc.args, got, err, stderr.String(), tc.want, tc.note)
		}
	}
}
