package webhook

import (
	"bytes"
	"fmt"

	"github.com/pave-dev/pave/internal/keyfile"
	"github.com/pave-dev/pave/internal/secret"
)

// MaxSecretFile bounds a file of webhook secrets.
const MaxSecretFile = 64 << 10

// SecretFiles reads webhook secrets from the files that manifests name in
// secret_file. A file is read as keyfile.LoadMax reads a key: it must be a
// regular file, not a symbolic link (even to a good file), that only its
// owner may read or write (mode 0600 or 0400), and no longer than
// MaxSecretFile: a secret that other users can read, or that whoever can
// swap a link can choose, is no longer a secret, and pave refuses to
// pretend otherwise. One secret per non-empty line, so that a rotation can
// list the new secret beside the old one; at most MaxSecrets.
//
// The file is read again for every verifier built, so a rotation needs no
// restart. Errors name the file, never its contents.
type SecretFiles struct{}

// WebhookSecrets returns the secrets in the file at path.
func (SecretFiles) WebhookSecrets(path string) ([]secret.Value, error) {
	data, err := keyfile.LoadMax(path, "webhook secret file", MaxSecretFile)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	var out []secret.Value
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, secret.Value(line))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("webhook secret file %s is empty", path)
	}
	if len(out) > MaxSecrets {
		return nil, fmt.Errorf("webhook secret file %s has %d secrets; at most %d at once, for a rotation", path, len(out), MaxSecrets)
	}
	return out, nil
}
