package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
	"github.com/pave-dev/pave/internal/store"
)

// secretRecords adapts the secrets bucket to secrets.Records.
type secretRecords struct{ *store.KV }

func (r secretRecords) Keys(ctx context.Context) ([]string, error) {
	keys, _, err := r.KV.Keys(ctx, "", 1<<30)
	return keys, err
}

// secretVault is the secrets store with its master key file. A rotation
// writes the new key beside the old one (path.next) before re-wrapping
// anything, and replaces the old file only once every version has been
// re-wrapped and read back; a daemon that stops in between finishes the
// rotation when it next starts, so no moment exists at which the only key
// that opens the records is lost.
type secretVault struct {
	store   *secrets.Store
	path    string // "" when the key came from the environment
	rotate  sync.Mutex
	current string // master key id
}

var _ adminapi.Secrets = (*secretVault)(nil)

// openVault loads (or creates) the master key and opens the store,
// finishing a rotation that a previous run left half done.
func openVault(ctx context.Context, cfg config.Config, records *store.KV) (*secretVault, bool, error) {
	var (
		master  *secrets.MasterKey
		created bool
		err     error
	)
	v := &secretVault{}
	if cfg.MasterKey != "" {
		master, err = secrets.ParseMasterKey(cfg.MasterKey.Reveal())
	} else {
		v.path = cfg.MasterKeyPath()
		master, created, err = secrets.LoadOrCreateMasterKey(v.path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("master key: %w", err)
	}
	v.store = secrets.NewStore(secretRecords{records}, master, nil)
	v.current = master.ID()
	if v.path != "" {
		if _, err := os.Lstat(v.path + ".next"); err == nil {
			if _, _, _, err := v.finishRotation(ctx); err != nil {
				return nil, false, fmt.Errorf("finishing an interrupted master key rotation: %w", err)
			}
		}
	}
	return v, created, nil
}

func (v *secretVault) Set(ctx context.Context, name string, value secret.Value) (int, error) {
	return v.store.Set(ctx, name, value)
}

func (v *secretVault) List(ctx context.Context) ([]secrets.Info, error) { return v.store.List(ctx) }

func (v *secretVault) Remove(ctx context.Context, name string) error {
	return v.store.Remove(ctx, name)
}

// Get serves the functions' reads, with the not-found error package
// capability knows.
func (v *secretVault) Get(ctx context.Context, name string, version int) (secret.Value, int, error) {
	s, n, err := v.store.Get(ctx, name, version)
	if errors.Is(err, secrets.ErrNotFound) {
		return "", 0, fmt.Errorf("%w: %w", capability.ErrSecretNotFound, err)
	}
	return s, n, err
}

// CallbackSecret reads the secret that signs a function's callbacks.
func (v *secretVault) CallbackSecret(ctx context.Context, name string) ([]byte, error) {
	s, _, err := v.Get(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	return []byte(s.Reveal()), nil
}

// RotateMaster implements adminapi.Secrets.
func (v *secretVault) RotateMaster(ctx context.Context) (string, string, int, error) {
	if v.path == "" {
		return "", "", 0, adminapi.ErrMasterKeyFromEnv
	}
	return v.finishRotation(ctx)
}

// finishRotation re-wraps everything under the key in path.next, creating
// that key if there is none yet, then makes it the master key file.
func (v *secretVault) finishRotation(ctx context.Context) (oldID, newID string, n int, err error) {
	v.rotate.Lock()
	defer v.rotate.Unlock()
	next, _, err := secrets.LoadOrCreateMasterKey(v.path + ".next")
	if err != nil {
		return "", "", 0, err
	}
	oldID = v.current
	if n, err = v.store.RotateMaster(ctx, next); err != nil {
		return "", "", 0, err
	}
	if err := os.Rename(v.path+".next", v.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", 0, fmt.Errorf("the secrets are re-wrapped under %s, but its key file could not replace the old one: %w (move %s.next to %s by hand)", next.ID(), err, v.path, v.path)
	}
	v.current = next.ID()
	return oldID, next.ID(), n, nil
}
