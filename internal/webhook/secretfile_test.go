package webhook

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/keyfile/keyfiletest"
)

func TestSecretFiles(t *testing.T) {
	const secret = "whsec-not-to-be-quoted"
	good, attacks := keyfiletest.Attacks(t, secret, MaxSecretFile)
	dir := filepath.Dir(good)
	if got, err := (SecretFiles{}).WebhookSecrets(good); err != nil || len(got) != 1 || got[0] != config.Secret(secret) {
		t.Fatalf("the good file: %d secrets, %v; want the one", len(got), err)
	}
	two := keyfiletest.Write(t, dir, "two", "\n"+secret+"\n  second-secret \n\n", 0o400)
	if got, err := (SecretFiles{}).WebhookSecrets(two); err != nil || len(got) != 2 || got[1] != "second-secret" {
		t.Fatalf("a 0400 file of two lines: %d secrets, %v; want two", len(got), err)
	}
	attacks = append(attacks,
		keyfiletest.Attack{Name: "empty", Path: keyfiletest.Write(t, dir, "empty", " \n\n", 0o600), Want: "is empty"},
		keyfiletest.Attack{Name: "too many", Path: keyfiletest.Write(t, dir, "many", strings.Repeat(secret+"\n", MaxSecrets+1), 0o600), Want: "at most 8"},
	)
	keyfiletest.Refuses(t, secret, attacks, func(path string) error {
		_, err := SecretFiles{}.WebhookSecrets(path)
		return err
	})
	if _, err := (SecretFiles{}).WebhookSecrets(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
}
