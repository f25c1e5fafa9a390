package scheme

import "testing"

func TestValid(t *testing.T) {
	for _, s := range All {
		if !Valid(string(s)) {
			t.Errorf("Valid(%q) = false", s)
		}
	}
	for _, s := range []string{"", "GitHub", "gitlab", "hmac ", "standard_webhooks"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	if got, want := List(), "github, stripe, slack, standard-webhooks, hmac"; got != want {
		t.Errorf("List() = %q, want %q", got, want)
	}
}
