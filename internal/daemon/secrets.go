package daemon

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/webhook"
)

// fileSecrets reads webhook secrets from files named in manifests, until
// the encrypted secrets store takes over. A file must be a regular file
// that only its owner may read or write (mode 0600 or 0400): a secret that
// other users can read is no longer a secret, and pave refuses to pretend
// otherwise. One secret per non-empty line, so that a rotation can list
// the new secret beside the old one.
type fileSecrets struct{}

// maxSecretFile bounds a webhook secret file.
const maxSecretFile = 64 << 10

func (fileSecrets) WebhookSecrets(path string) ([]config.Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the secret file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s has mode %04o; make it readable by its owner only (chmod 600)", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretFile)
	}
	var out []config.Secret
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, config.Secret(line))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("secret file %s is empty", path)
	}
	if len(out) > webhook.MaxSecrets {
		return nil, fmt.Errorf("secret file %s has %d secrets; at most %d at once, for a rotation", path, len(out), webhook.MaxSecrets)
	}
	return out, nil
}
