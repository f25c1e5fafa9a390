package posture

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/wasmbin"
)

// Every credential below is assembled at run time from random characters
// and split prefixes, so that no realistic-looking secret is committed.

func awsKey(t testing.TB) string  { return "AK" + "IA" + random(t, upperDigits, 16) }
func paveKey(t testing.TB) string { return "pave" + "_k_" + random(t, base32Lower, 52) }
func githubToken(t testing.TB) string {
	return "gh" + "p_" + random(t, alnum, 36)
}
func slackToken(t testing.TB) string {
	return "xo" + "xb-" + random(t, digits, 12) + "-" + random(t, digits, 13) + "-" + random(t, alnum, 24)
}
func pemKey(t testing.TB) string {
	body := base64.StdEncoding.EncodeToString([]byte(random(t, alnum, 96)))
	return "-----BEGIN " + "RSA PRIV" + "ATE KEY-----\n" + body + "\n-----END RSA PRIV" + "ATE KEY-----\n"
}

// assignedValue is random enough to be reported: letters and digits.
func assignedValue(t testing.TB) string { return "a1" + random(t, alnum, 30) }

func TestScanSecretsFinds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		token   string // what must never appear whole in a report
		data    string // the segment; the token is somewhere in it
		kind    string
		varName string
	}{
		{name: "AWS access key id", kind: LeakAWSAccessKey},
		{name: "AWS temporary key id", kind: LeakAWSAccessKey},
		{name: "pave API key", kind: LeakPaveAPIKey},
		{name: "pave admin token", kind: LeakPaveAdmin},
		{name: "pave console password", kind: LeakPaveConsole},
		{name: "GitHub token", kind: LeakGitHubToken},
		{name: "GitHub fine-grained token", kind: LeakGitHubToken},
		{name: "Slack token", kind: LeakSlackToken},
		{name: "PEM private key", kind: LeakPEMKey},
		{name: "EC PEM private key", kind: LeakPEMKey},
		{name: "password=", kind: LeakAssigned, varName: "password"},
		{name: "API_KEY: quoted", kind: LeakAssigned, varName: "API_KEY"},
		{name: "client_secret in JSON", kind: LeakAssigned, varName: "client_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "AWS access key id":
				tc.token = awsKey(t)
			case "AWS temporary key id":
				tc.token = "AS" + "IA" + random(t, upperDigits, 16)
			case "pave API key":
				tc.token = paveKey(t)
			case "pave admin token":
				tc.token = "pave" + "_a_" + random(t, base32Lower, 52)
			case "pave console password":
				tc.token = "pave" + "_u_" + random(t, base32Lower, 52)
			case "GitHub token":
				tc.token = githubToken(t)
			case "GitHub fine-grained token":
				tc.token = "github" + "_pat_" + random(t, alnum+"_", 82)
			case "Slack token":
				tc.token = slackToken(t)
			case "PEM private key":
				tc.token = pemKey(t)
			case "EC PEM private key":
				tc.token = strings.Replace(pemKey(t), "RSA", "EC", 2)
			case "password=":
				tc.token = assignedValue(t)
				tc.data = "host=db.internal user=app password=" + tc.token + " sslmode=require"
			case "API_KEY: quoted":
				tc.token = assignedValue(t)
				tc.data = "API_KEY: \"" + tc.token + "\"\n"
			case "client_secret in JSON":
				tc.token = assignedValue(t)
				tc.data = `{"client_id":"app","client_secret": "` + tc.token + `"}`
			}
			if tc.data == "" {
				// Packed between other strings, as Go's rodata packs them.
				tc.data = "runtime: unexpected " + tc.token + "ParseDurationinvalid"
			}
			b := moduleWithData(
				active(0x1000, []byte("nothing to see here")),
				active(0x2000, []byte(tc.data)),
			)
			leaks, err := ScanSecrets(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(leaks) != 1 {
				t.Fatalf("leaks = %v, want one", leaks)
			}
			l := leaks[0]
			if l.Kind != tc.kind || l.Name != tc.varName || l.Segment != 1 {
				t.Errorf("leak = %+v, want kind %q name %q in segment 1", l, tc.kind, tc.varName)
			}
			if want := bytes.Index(b, []byte(tc.token)); l.Offset != want {
				t.Errorf("offset = %d, want %d", l.Offset, want)
			}
			if want := tc.token[:4] + "…"; l.Preview != want {
				t.Errorf("preview = %q, want %q", l.Preview, want)
			}
			// Nothing that reports the leak holds more of it than the
			// first four characters.
			secret := tc.token[4:]
			if tc.kind == LeakPEMKey {
				secret = tc.token[strings.Index(tc.token, "\n")+1:][:20]
			}
			r := Check(Input{Functions: []Function{{Name: "fn", Owner: "team", Module: b}}}, testPolicy())
			if len(r.Findings) != 1 || r.Findings[0].Rule != RuleHardcodedSecret {
				t.Fatalf("findings = %+v", r.Findings)
			}
			var out bytes.Buffer
			for _, w := range []func() error{
				func() error { return WriteTable(&out, r) },
				func() error { return WriteJSON(&out, r) },
				func() error { return WriteSARIF(&out, r, SARIFOptions{ToolVersion: "test"}) },
			} {
				if err := w(); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range []string{l.String(), r.Findings[0].Evidence, out.String()} {
				if strings.Contains(s, secret[:12]) {
					t.Errorf("the credential leaks into a report: %s", s)
				}
			}
			if !strings.Contains(r.Findings[0].Evidence, tc.kind) || !strings.Contains(r.Findings[0].Evidence, "offset") {
				t.Errorf("evidence %q does not name the kind and offset", r.Findings[0].Evidence)
			}
		})
	}
}

func TestScanSecretsIgnores(t *testing.T) {
	for name, data := range map[string]string{
		"AWS prefix, 15 characters":     "AK" + "IA" + random(t, upperDigits, 15) + "-",
		"AWS prefix, lower case":        "AK" + "IA" + strings.ToLower(random(t, upperDigits, 16)),
		"pave key, 51 characters":       "pave" + "_k_" + random(t, base32Lower, 51) + "!",
		"pave key in upper case":        "pave" + "_k_" + strings.ToUpper(random(t, base32Lower, 52)),
		"GitHub prefix, 35 characters":  "gh" + "p_" + random(t, alnum, 35) + "-",
		"Slack prefix without digits":   "xo" + "xb-" + random(t, "abcdefghij", 20),
		"Slack prefix, too short":       "xo" + "xp-12345",
		"PEM header in a message":       "crypto/tls: failed to parse -----BEGIN " + "RSA PRIV" + "ATE KEY----- block",
		"PEM public key":                "-----BEGIN PUBLIC KEY-----\nMIIB",
		"password of a word":            "password=correcthorsebatterystaple",
		"password placeholder":          "password=xxxxxxxxxxxxxxxxxxxxxxxx1",
		"password too short":            "password=a1" + random(t, alnum, 10),
		"password, no assignment":       "password " + assignedValue(t),
		"secret-looking path":           "secret=/var/run/secrets/token",
		"token followed by format verb": "invalid token=%s: expected 16 hex digits",
		"Go runtime text":               "runtime: bad pointer in frame 0x1234 secret: GODEBUG=madvdontneed=1",
	} {
		t.Run(name, func(t *testing.T) {
			leaks, err := ScanSecrets(moduleWithData(active(0x1000, []byte(data))))
			if err != nil {
				t.Fatal(err)
			}
			if len(leaks) != 0 {
				t.Errorf("leaks = %v, want none", leaks)
			}
		})
	}
}

func TestScanSecretsWhere(t *testing.T) {
	token := awsKey(t)
	t.Run("passive segment", func(t *testing.T) {
		leaks, err := ScanSecrets(moduleWithData(passive([]byte(token))))
		if err != nil || len(leaks) != 1 {
			t.Errorf("leaks = %v, %v; want one", leaks, err)
		}
	})
	t.Run("custom section is not data", func(t *testing.T) {
		leaks, err := ScanSecrets(module(section(wasmbin.SectionCustom, cat(name("x"), []byte(token)))))
		if err != nil || len(leaks) != 0 {
			t.Errorf("leaks = %v, %v; want none", leaks, err)
		}
	})
	t.Run("cut at the end of a segment", func(t *testing.T) {
		leaks, err := ScanSecrets(moduleWithData(active(0, []byte(token[:12])), active(12, []byte(token[12:]))))
		if err != nil || len(leaks) != 0 {
			t.Errorf("leaks = %v, %v; want none", leaks, err)
		}
	})
	t.Run("many, capped and in offset order", func(t *testing.T) {
		var data []byte
		for range 30 {
			data = append(data, paveKey(t)+" "+awsKey(t)+" "...)
		}
		leaks, err := ScanSecrets(moduleWithData(active(0, data)))
		if err != nil || len(leaks) != maxLeaks {
			t.Fatalf("%d leaks, %v; want %d", len(leaks), err, maxLeaks)
		}
		for i := 1; i < len(leaks); i++ {
			if leaks[i].Offset <= leaks[i-1].Offset {
				t.Fatalf("leaks not in offset order: %v", leaks)
			}
			if want := []string{LeakPaveAPIKey, LeakAWSAccessKey}[i%2]; leaks[i].Kind != want {
				t.Fatalf("leak %d is %s, want %s: the cap must keep the first by offset", i, leaks[i].Kind, want)
			}
		}
	})
}

func TestEntropy(t *testing.T) {
	counts := func(s string) []int {
		c := make([]int, 256)
		for i := 0; i < len(s); i++ {
			c[s[i]]++
		}
		return c
	}
	for _, tc := range []struct {
		s    string
		want float64
	}{
		{"aaaa", 0},
		{"abab", 1},
		{"abcd", 2},
		{"0123456789abcdef", 4},
	} {
		if got := entropy(counts(tc.s), len(tc.s)); got != tc.want {
			t.Errorf("entropy(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// password returns a random password of n characters as password
// managers make them: drawn from letters, digits and punctuation, with
// every class present, and as varied as such draws almost always are.
func password(t testing.TB, n int) string {
	const punct = "#!@$^-_+.?~/" // no "$(" (a template), nor &, ; or =, which end an unquoted value
	for {
		p := random(t, alnum+punct, n)
		var counts [256]int
		for _, c := range []byte(p) {
			counts[c]++
		}
		if strings.ContainsAny(p, punct) && strings.ContainsAny(p, digits) &&
			strings.ContainsAny(p, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
			entropy(counts[:], n) >= 3 && !hasRun(p, 4) {
			return p
		}
	}
}

// hasRun reports whether s repeats a character n times in a row, which
// reads as a mask, not a password.
func hasRun(s string, n int) bool {
	run := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			if run++; run >= n {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// A corpus of assignments in the shapes credentials take in configuration
// compiled into modules: each must be found, as a value assigned to its
// name, and never shown beyond its first four characters.
func TestAssignedCredentialCorpus(t *testing.T) {
	for _, tc := range []struct {
		name, data, varName string
	}{
		{"a TOML password with punctuation", `db_password = "%s"`, "password"},
		{"a YAML password", "database:\n  password: '%s'\n", "password"},
		{"a DSN", "host=db.internal user=app password=%s sslmode=require", "password"},
		{"a connection string", "Server=db;Database=app;User Id=app;Password=%s;", "Password"},
		{"a JSON passphrase", `{"passphrase":"%s"}`, "passphrase"},
		{"an environment file", "SMTP_PASSWD=%s\nSMTP_HOST=mail", "PASSWD"},
		{"a query string", "https://api.example.com/v1?user=app&pwd=%s&format=json", "pwd"},
		{"a Go struct literal in text", `Secret: "%s",`, "Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // random passwords: no shape passes by chance
				value := password(t, 12+len(tc.name)%9)
				data := fmt.Sprintf(tc.data, value)
				leaks, err := ScanSecrets(moduleWithData(active(0x1000, []byte("runtime: "+data+"ParseDuration"))))
				if err != nil {
					t.Fatal(err)
				}
				if len(leaks) != 1 || leaks[0].Kind != LeakAssigned || leaks[0].Name != tc.varName || leaks[0].Preview != value[:4]+"…" {
					t.Fatalf("%q: leaks = %v, want the value assigned to %s", data, leaks, tc.varName)
				}
			}
		})
	}
}

// Look-alikes that must not be reported: words, placeholders, format
// strings, templates, masks, paths and assignments of other things.
func TestAssignedLookAlikes(t *testing.T) {
	for _, data := range []string{
		`password = "changeme"`,
		`password = "Password1"`,
		`password: "${DB_PASSWORD}"`,
		`password: "{{ .Values.password }}"`,
		`password = "%s"`,
		`password=%v user=%s`,
		`password: "********"`,
		`password = "<your password here>"`,
		`password = "xxxxXXXX1111!!!!"`,
		`password: /run/secrets/db-password`,
		`token: Bearer`,
		`secret: GODEBUG=madvdontneed=1`,
		`api_key = "abc-def"`,
		`pwd=/home/app`,
		`password: "correct-horse-battery-staple"`,
		`passwd: "hunter2"`,
		`secret_key = "your-secret-key"`,
		"password must be at least 8 characters, e.g. \"Aa1!\"",
	} {
		leaks, err := ScanSecrets(moduleWithData(active(0x1000, []byte(data))))
		if err != nil {
			t.Fatal(err)
		}
		if len(leaks) != 0 {
			t.Errorf("%q: leaks = %v, want none", data, leaks)
		}
	}
}
