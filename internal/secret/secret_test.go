package secret_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
)

// TestValueIsRedacted formats a Value, alone and inside a struct, every way
// a log line, an error or a response could: none shows it.
func TestValueIsRedacted(t *testing.T) {
	const value = "pave_admin_0123456789"
	s := secret.Value(value)
	type client struct {
		URL   string
		Token secret.Value
	}
	c := client{URL: "http://127.0.0.1:8081", Token: s}

	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("resolved", "client", c, "token", s)
	var textLogged strings.Builder
	slog.New(slog.NewTextHandler(&textLogged, nil)).Info("resolved", "client", c, "token", s)
	asJSON, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"String":           s.String(),
		"GoString":         s.GoString(),
		"%v":               fmt.Sprintf("%v", s),
		"%s":               fmt.Sprintf("%s", s),
		"%q":               fmt.Sprintf("%q", s),
		"%x":               fmt.Sprintf("%x", s),
		"%#v":              fmt.Sprintf("%#v", s),
		"%+v of a struct":  fmt.Sprintf("%+v", c),
		"%#v of a struct":  fmt.Sprintf("%#v", c),
		"json of a struct": string(asJSON),
		"slog JSON":        logged.String(),
		"slog text":        textLogged.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s shows the secret: %s", how, out)
		}
		if !strings.Contains(out, secret.Redacted) {
			t.Errorf("%s = %q, want %s in it", how, out, secret.Redacted)
		}
	}
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal() = %q, want %q", got, value)
	}
}

func ExampleValue() {
	token := secret.Value("s3cr3t-t0ken")
	fmt.Println("token:", token)
	fmt.Printf("%#v\n", struct{ Token secret.Value }{token})
	fmt.Println("header: Bearer " + token.Reveal())
	// Output:
	// token: [REDACTED]
	// struct { Token secret.Value }{Token:[REDACTED]}
	// header: Bearer s3cr3t-t0ken
}
