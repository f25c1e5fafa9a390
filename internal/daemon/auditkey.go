package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/keyfile"
	"github.com/pave-dev/pave/internal/members"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/store"
)

// The audit key files. PATH (--audit-key-file) holds the key the node
// seals the log with; PATH.next the next key of a rotation, which the
// operator gives every node before rotating (one node makes it itself);
// PATH.ID the key of each earlier rotation, ID being its id, kept because
// the records it sealed stay in the log and are verified with it. A
// rotation (pave audit rotate-key) hands the log to the next key with a
// record sealed by the old one (audit.Auditor.Rotate); every node follows
// when it next reads the log and then moves its files: PATH to PATH.ID
// and PATH.next to PATH (auditTrail.adopt).

// otherAuditKeys returns the keys beside the audit key at path: the next
// one, if given, and those of earlier rotations.
func otherAuditKeys(path string) ([]secret.Value, error) {
	var keys []secret.Value
	next, ok, err := loadAuditKeyFile(path + ".next")
	if err != nil {
		return nil, err
	}
	if ok {
		keys = append(keys, next)
	}
	matches, err := filepath.Glob(path + ".*")
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		id := strings.TrimPrefix(m, path+".")
		if !isKeyID(id) {
			continue
		}
		k, _, err := loadAuditKeyFile(m)
		if err != nil {
			return nil, err
		}
		if got, _ := audit.KeyID(k); got != id {
			return nil, fmt.Errorf("audit key file %s holds audit key %s, not the key its name says", m, got)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// isKeyID reports whether s has the form of an audit key's id.
func isKeyID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// loadAuditKeyFile loads the audit key in the file at path, if there is
// one; it never creates one.
func loadAuditKeyFile(path string) (secret.Value, bool, error) {
	exists, err := fileExists(path)
	if err != nil || !exists {
		return "", false, err
	}
	k, _, err := audit.LoadOrCreateKey(path)
	return k, err == nil, err
}

// loadNext returns the key in path.next if its id is id: the Auditor asks
// for a key a record names that it does not hold, which the operator may
// have given since the start.
func (t *auditTrail) loadNext(id string) (secret.Value, bool) {
	k, ok, err := loadAuditKeyFile(t.path + ".next")
	if err != nil || !ok {
		return "", false
	}
	if got, _ := audit.KeyID(k); got != id {
		return "", false
	}
	return k, true
}

// keyIDs returns the id of the key the node seals with and that of the
// key in path.next, if another: what its heartbeat says it holds.
func (t *auditTrail) keyIDs() (current, next string) {
	current = t.a.KeyID()
	if k, ok, err := loadAuditKeyFile(t.path + ".next"); err == nil && ok {
		if id, _ := audit.KeyID(k); id != current {
			next = id
		}
	}
	return current, next
}

// adopt moves the key files once the Auditor seals with the key to: the
// key in path, from, is kept as path.from, and path.next, if it holds to,
// replaces path; then the store records to. The Auditor calls it with its
// lock held, after its own rotation or on following another node's.
func (t *auditTrail) adopt(from, to string) {
	if cur := t.key.Load(); cur != nil {
		if id, _ := audit.KeyID(*cur); id == from {
			if _, _, err := keyfile.LoadOrCreate(t.path+"."+from, "audit key file", func() ([]byte, error) {
				return []byte(cur.Reveal()), nil
			}); err != nil {
				t.log.Error("the old audit key could not be kept beside the new one: records it sealed cannot be verified after a restart until it is", "err", err, "file", t.path+"."+from)
				return
			}
		}
	}
	if next, ok := t.loadNext(to); ok {
		if err := os.Rename(t.path+".next", t.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.log.Error("the audit key file could not be replaced by the next key", "err", err, "file", t.path)
			return
		}
		t.key.Store(&next)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := recordAuditKey(ctx, t.settings, from, to); err != nil {
		t.log.Warn("the store still records the old audit key's id; the next rotation or start records the new one", "err", err, "key_id", to)
	}
}

// recordAuditKey changes the audit key's id the store records from from
// to to; it succeeds if it records to already.
func recordAuditKey(ctx context.Context, settings *store.KV, from, to string) error {
	for range 3 {
		e, err := settings.Get(ctx, settingAuditKey)
		if err != nil {
			return err
		}
		switch string(e.Value) {
		case to:
			return nil
		case from:
		default:
			return fmt.Errorf("the store records audit key %s, neither %s nor %s", e.Value, from, to)
		}
		_, err = settings.Update(ctx, settingAuditKey, []byte(to), e.Revision)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("recording audit key %s: %w", to, store.ErrConflict)
}

// RotateKey implements adminapi.AuditLog: it hands the log to the key in
// path.next. On one node it makes that key if there is none; with an
// external store the operator gives it to every node first, and the
// rotation is refused, changing nothing, while a live node's heartbeat
// does not list it.
func (t *auditTrail) RotateKey(ctx context.Context, ev audit.Event) (from, to string, err error) {
	t.rotating.Lock()
	defer t.rotating.Unlock()
	nextPath := t.path + ".next"
	next, ok, err := loadAuditKeyFile(nextPath)
	if err != nil {
		return "", "", err
	}
	if !ok && t.shared {
		return "", "", fmt.Errorf("%w: with an external store every node needs the new audit key before the rotation: write it (32 random bytes in base64, mode 0600) to %s on this node and beside the audit key file of every other node, then rotate", adminapi.ErrNoNextAuditKey, nextPath)
	}
	if !ok {
		if next, _, err = audit.LoadOrCreateKey(nextPath); err != nil {
			return "", "", err
		}
	}
	id, err := audit.KeyID(next)
	if err != nil {
		return "", "", err
	}
	if id == t.a.KeyID() {
		return "", "", fmt.Errorf("%w: %s holds audit key %s, the key in use", adminapi.ErrNoNextAuditKey, nextPath, id)
	}
	if t.shared && t.nodes != nil {
		lacking, err := lackingNodes(ctx, t.nodes, t.self, func(n members.Node) bool { return n.HoldsAuditKey(id) })
		if err != nil {
			return "", "", fmt.Errorf("listing the nodes, to check that each holds the next audit key: %w", err)
		}
		if len(lacking) > 0 {
			names := make([]string, len(lacking))
			for i, n := range lacking {
				names[i] = fmt.Sprintf("%s (%s, %s)", n.ID, n.Host, n.AdminURL)
			}
			return "", "", fmt.Errorf("%w: %d live node(s) do not hold the next audit key %s: %s; "+
				"put it beside each one's audit key file, named like it with .next (mode 0600), "+
				"check with pave nodes that each lists it as its next audit key, and rotate again; nothing was changed",
				adminapi.ErrNoNextAuditKey, len(lacking), id, strings.Join(names, ", "))
		}
	}
	return t.a.Rotate(ctx, next, ev)
}
