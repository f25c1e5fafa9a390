package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pave-dev/pave/internal/store"
)

const adminHashKey = "admin_token_sha256"

// Admin verifies the admin token.
type Admin struct {
	hash string
}

// EnsureAdmin loads the admin token's hash from settings. On first start
// (no hash stored) it creates a token, writes it to tokenFile with mode 0600
// and stores only its hash. It returns whether a new token was made.
func EnsureAdmin(ctx context.Context, settings Records, tokenFile string) (*Admin, bool, error) {
	e, err := settings.Get(ctx, adminHashKey)
	if err == nil {
		return &Admin{hash: string(e.Value)}, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	token := newSecret(AdminPrefix)
	// Write the file before storing the hash: if we stop in between, the
	// next start finds no hash and makes a new token, replacing the file.
	if err := writePrivate(tokenFile, token.Reveal()+"\n"); err != nil {
		return nil, false, fmt.Errorf("write admin token: %w", err)
	}
	h := hashOf(token.Reveal())
	if _, err := settings.Create(ctx, adminHashKey, []byte(h)); err != nil {
		if errors.Is(err, store.ErrExists) {
			// Another node won the race; its token is the one.
			_ = os.Remove(tokenFile)
			return EnsureAdmin(ctx, settings, tokenFile)
		}
		return nil, false, err
	}
	return &Admin{hash: h}, true, nil
}

// Check reports whether token is the admin token, in constant time.
func (a *Admin) Check(token string) bool {
	if token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashOf(token)), []byte(a.hash)) == 1
}

// writePrivate writes data to path with mode 0600 through a temporary file
// and a rename, so a reader never sees a half-written file.
func writePrivate(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
