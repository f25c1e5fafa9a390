package webhook

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/keyfile/keyfiletest"
	"github.com/pave-dev/pave/internal/secret"
)

func TestSecretFiles(t *testing.T) {
	const whsec = "whsec-not-to-be-quoted"
	good, attacks := keyfiletest.Attacks(t, whsec, MaxSecretFile)
	dir := filepath.Dir(good)
	if got, err := (SecretFiles{}).WebhookSecrets(good); err != nil || len(got) != 1 || got[0] != secret.Value(whsec) {
		t.Fatalf("the good file: %d secrets, %v; want the one", len(got), err)
	}
	two := keyfiletest.Write(t, dir, "two", "\n"+whsec+"\n  second-whsec \n\n", 0o400)
	if got, err := (SecretFiles{}).WebhookSecrets(two); err != nil || len(got) != 2 || got[1] != "second-whsec" {
		t.Fatalf("a 0400 file of two lines: %d secrets, %v; want two", len(got), err)
	}
	attacks = append(attacks,
		keyfiletest.Attack{Name: "empty", Path: keyfiletest.Write(t, dir, "empty", " \n\n", 0o600), Want: "is empty"},
		keyfiletest.Attack{Name: "too many", Path: keyfiletest.Write(t, dir, "many", strings.Repeat(whsec+"\n", MaxSecrets+1), 0o600), Want: "at most 8"},
	)
	keyfiletest.Refuses(t, whsec, attacks, func(path string) error {
		_, err := SecretFiles{}.WebhookSecrets(path)
		return err
	})
	if _, err := (SecretFiles{}).WebhookSecrets(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
}
