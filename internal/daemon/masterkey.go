package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/capability"
	"github.com/pave-dev/pave/internal/config"
	"github.com/pave-dev/pave/internal/members"
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
//
// Nodes sharing an external store share one master key, given to each
// (keys.go). The settings bucket records its id, "old>new" while a
// rotation goes on: every node follows that record through a watch,
// switching to the new key when it holds it (in path.next, put there by
// the operator before the rotation) and refusing to set secrets, with an
// error naming both ids, when it does not.
type secretVault struct {
	store    *secrets.Store
	path     string // "" when the key came from the environment
	settings *store.KV
	shared   bool // the store is external: other nodes may use it
	log      *slog.Logger
	rotate   sync.Mutex
	// state is the recorded state of the master key, as last seen.
	state atomic.Pointer[keyState]
	// held are the master keys this node loaded, by id (guarded by rotate).
	held map[string]*secrets.MasterKey
	// rotating is set while this node rotates: it does not follow its
	// own records.
	rotating atomic.Bool
	// nodes lists the live nodes, self being this one, for a rotation to
	// check first that every node holds the next key; nil on one node.
	nodes adminapi.Nodes
	self  string
}

var _ adminapi.Secrets = (*secretVault)(nil)

// openVault loads (or, on a store that records none, creates) the master
// key and opens the store, finishing a rotation that a previous run, or
// another node, left half done. It refuses a key other than the one the
// store's records use, naming both ids.
func openVault(ctx context.Context, cfg config.Config, records, settings *store.KV, shared bool, log *slog.Logger) (*secretVault, bool, error) {
	v := &secretVault{settings: settings, shared: shared, log: log, held: map[string]*secrets.MasterKey{}}
	state, err := readKeyState(ctx, settings)
	if err != nil {
		return nil, false, err
	}
	var (
		master, next *secrets.MasterKey
		created      bool
	)
	if cfg.MasterKey != "" {
		master, err = secrets.ParseMasterKey(cfg.MasterKey.Reveal())
	} else {
		v.path = cfg.MasterKeyPath()
		var exists bool
		if exists, err = fileExists(v.path); err == nil && !exists {
			err = v.mayCreate(ctx, state, records)
		}
		if err == nil {
			master, created, err = secrets.LoadOrCreateMasterKey(v.path)
		}
		if err == nil {
			next, err = loadNext(v.path)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("master key: %w", err)
	}
	v.held[master.ID()] = master
	if next != nil {
		v.held[next.ID()] = next
	}
	if state.current == "" {
		if state, err = v.claim(ctx, master, next, records); err != nil {
			return nil, false, err
		}
	}
	v.store = secrets.NewStore(secretRecords{records}, master, nil)
	v.store.Hold(next)
	v.state.Store(&state)
	switch {
	case state.next == "" && state.current == master.ID():
		if next != nil && !shared {
			// One node: a rotation that stopped before its start was
			// recorded.
			if _, _, _, err := v.finishRotation(ctx); err != nil {
				return nil, false, fmt.Errorf("finishing an interrupted master key rotation: %w", err)
			}
		} else if next != nil {
			log.Info("holding the next master key for a rotation", "key_id", master.ID(), "next_key_id", next.ID())
		}
	case state.next != "" && next != nil && state.next == next.ID() && state.current == master.ID():
		// A rotation began, here or on another node, and has not
		// finished: re-wrapping is idempotent, so finish it.
		log.Info("finishing the master key rotation the store records as begun", "from", state.current, "to", state.next)
		if _, _, _, err := v.finishRotation(ctx); err != nil {
			return nil, false, fmt.Errorf("finishing the master key rotation to %s: %w", state.next, err)
		}
	case state.next == "" && next != nil && state.current == next.ID():
		// Another node rotated while this one was down.
		v.store.Promote(next.ID())
		v.adopt(next.ID())
	case state.next == master.ID():
		// This node's file already holds the new key.
		v.store.Promote(master.ID())
	default:
		return nil, false, fmt.Errorf("master key: %w", v.wrongKey(state))
	}
	return v, created, nil
}

// loadNext loads the key in path.next, nil if there is no such file.
func loadNext(path string) (*secrets.MasterKey, error) {
	exists, err := fileExists(path + ".next")
	if err != nil || !exists {
		return nil, err
	}
	k, _, err := secrets.LoadOrCreateMasterKey(path + ".next")
	return k, err
}

// mayCreate refuses to make a master key when the store records one or
// holds secrets sealed by one.
func (v *secretVault) mayCreate(ctx context.Context, state keyState, records *store.KV) error {
	id := state.current
	if id == "" {
		var err error
		if id, err = sealedBy(ctx, secretRecords{records}); err != nil {
			return fmt.Errorf("reading the stored secrets: %w", err)
		}
	}
	if id == "" {
		return nil
	}
	return fmt.Errorf("the store's secrets are sealed by master key %s, and this node has no master key file %s: "+
		"copy the cluster's master key there, or name it with --master-key-file or PAVE_MASTER_KEY; "+
		"a node never makes a key of its own once the store has one", id, v.path)
}

// claim records master's id on a store that records none yet, checking
// it against the secrets stored before ids were recorded.
func (v *secretVault) claim(ctx context.Context, master, next *secrets.MasterKey, records *store.KV) (keyState, error) {
	id, err := sealedBy(ctx, secretRecords{records})
	if err != nil {
		return keyState{}, fmt.Errorf("reading the stored secrets: %w", err)
	}
	if id != "" && id != master.ID() && (next == nil || id != next.ID()) {
		return keyState{}, fmt.Errorf("master key: %w: the store's secrets are sealed by master key %s, this node has %s; give every node the same key",
			secrets.ErrWrongMasterKey, id, master.ID())
	}
	if _, err := claimKeyID(ctx, v.settings, settingMasterKey, master.ID()); err != nil {
		return keyState{}, err
	}
	return readKeyState(ctx, v.settings)
}

// wrongKey is the error of a node whose keys are not the recorded ones.
func (v *secretVault) wrongKey(state keyState) error {
	ids := make([]string, 0, len(v.held))
	for id := range v.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	want := "master key " + state.current
	if state.next != "" {
		want += ", being rotated to " + state.next
	}
	where := "--master-key-file or PAVE_MASTER_KEY"
	if v.path != "" {
		where = v.path + " (and the next key of a rotation in " + v.path + ".next)"
	}
	return fmt.Errorf("%w: the store's secrets use %s, and this node has %s: give it the cluster's key in %s",
		secrets.ErrWrongMasterKey, want, strings.Join(ids, " and "), where)
}

// follow keeps the node on the recorded master key until ctx ends.
func (v *secretVault) follow(ctx context.Context) error {
	return v.settings.Watch(ctx, func(e store.Entry) {
		if e.Key != settingMasterKey || e.Deleted {
			return
		}
		v.apply(parseKeyState(string(e.Value), e.Revision))
	}, func() {})
}

// apply switches to the key the recorded state names, if this node holds
// it (or finds it in path.next now), and records the state for Set.
func (v *secretVault) apply(state keyState) {
	defer v.state.Store(&state)
	if v.rotating.Load() {
		return
	}
	want := state.current
	if state.next != "" {
		want = state.next
	}
	if want == "" || want == v.store.MasterKeyID() {
		if state.next == "" {
			v.adopt(want)
		}
		return
	}
	if !v.store.Holds(want) && v.path != "" {
		if next, err := loadNext(v.path); err == nil && next != nil && next.ID() == want {
			v.store.Hold(next)
		}
	}
	if !v.store.Promote(want) {
		v.log.Error("the cluster's master key changed, and this node does not hold the new key: secrets sealed by it cannot be read here, nor can secrets be set here, until it is given",
			"key_id", v.store.MasterKeyID(), "cluster_key_id", want, "next_key_file", v.path+".next")
		return
	}
	v.log.Info("following the master key rotation", "key_id", want)
	if state.next == "" {
		v.adopt(want)
	}
}

// adopt makes the key file name id, the recorded key once a rotation has
// finished: path.next replaces path if it holds id.
func (v *secretVault) adopt(id string) {
	if v.path == "" || id == "" {
		return
	}
	next, err := loadNext(v.path)
	if err != nil || next == nil || next.ID() != id {
		return
	}
	if err := os.Rename(v.path+".next", v.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		v.log.Error("the master key file could not be replaced by the new key", "err", err, "file", v.path)
	}
}

// Set refuses while the cluster's master key is one this node does not
// seal with, so that it never seals what the other nodes cannot open.
func (v *secretVault) Set(ctx context.Context, name string, value secret.Value) (int, error) {
	if st := v.state.Load(); st != nil {
		want := st.current
		if st.next != "" {
			want = st.next
		}
		if mine := v.store.MasterKeyID(); want != "" && want != mine {
			return 0, fmt.Errorf("%w: the cluster's master key is %s, and this node seals with %s: give it the cluster's key", secrets.ErrWrongMasterKey, want, mine)
		}
	}
	return v.store.Set(ctx, name, value)
}

func (v *secretVault) List(ctx context.Context) ([]secrets.Info, error) { return v.store.List(ctx) }

func (v *secretVault) Stat(ctx context.Context, name string) (secrets.Info, error) {
	return v.store.Stat(ctx, name)
}

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
	if err := v.everyNodeHoldsNext(ctx); err != nil {
		return "", "", 0, err
	}
	return v.finishRotation(ctx)
}

// keyIDs returns the id of the master key this node seals with, and that
// of the key in path.next if there is one and it is another: what its
// heartbeat says it holds.
func (v *secretVault) keyIDs() (master, next string) {
	master = v.store.MasterKeyID()
	if v.path == "" {
		return master, ""
	}
	if k, err := loadNext(v.path); err == nil && k != nil && k.ID() != master {
		next = k.ID()
	}
	return master, next
}

// everyNodeHoldsNext refuses a rotation, before anything is written, while
// a live node other than this one does not hold the key in path.next, as
// its heartbeat says: such a node would fail closed once the rotation
// began. A node given the key since its last heartbeat says so at its
// next one, so for a node that lacks it the check waits for one heartbeat
// more (a heartbeat interval at most) before refusing. A rotation the
// store records as begun is not checked: finishing it is the way forward.
func (v *secretVault) everyNodeHoldsNext(ctx context.Context) error {
	if !v.shared || v.nodes == nil {
		return nil
	}
	next, err := loadNext(v.path)
	if err != nil || next == nil {
		return nil // finishRotation says what is wrong
	}
	if st := v.state.Load(); st != nil && st.next == next.ID() {
		return nil
	}
	lacking, err := lackingNodes(ctx, v.nodes, v.self, func(n members.Node) bool { return n.HoldsMasterKey(next.ID()) })
	if err != nil {
		return fmt.Errorf("listing the nodes, to check that each holds the next master key: %w", err)
	}
	if len(lacking) > 0 {
		return lackingNext(next.ID(), lacking)
	}
	return nil
}

// lackingNext is the refusal of a rotation to key id that the nodes
// lacking do not hold.
func lackingNext(id string, lacking []members.Node) error {
	names := make([]string, len(lacking))
	for i, n := range lacking {
		names[i] = fmt.Sprintf("%s (%s, %s)", n.ID, n.Host, n.AdminURL)
		if n.NextMasterKeyID != "" {
			names[i] += " holds next master key " + n.NextMasterKeyID + " instead"
		}
	}
	return fmt.Errorf("%w: %d live node(s) do not hold the next master key %s: %s; "+
		"put it beside each one's master key file, named like it with .next (mode 0600), "+
		"check with pave nodes that each lists it as its next key, and rotate again; nothing was changed",
		adminapi.ErrNoNextKey, len(lacking), id, strings.Join(names, ", "))
}

// finishRotation re-wraps everything under the key in path.next, then
// makes it the master key file. On one node it creates that key if there
// is none yet; on a shared store the operator must have given it to every
// node first. The store records "old>new" once every version is proven
// readable and before anything is written, and "new" once everything is
// re-wrapped, so that the other nodes switch to the new key (or, lacking
// it, stop setting secrets) and a node that starts in between finishes
// the rotation.
func (v *secretVault) finishRotation(ctx context.Context) (oldID, newID string, n int, err error) {
	v.rotate.Lock()
	defer v.rotate.Unlock()
	v.rotating.Store(true)
	defer v.rotating.Store(false)
	nextPath := v.path + ".next"
	var next *secrets.MasterKey
	if v.shared {
		if next, err = loadNext(v.path); err == nil && next == nil {
			err = fmt.Errorf("%w: with an external store every node needs the new key before the rotation: write it (32 random bytes in base64, mode 0600) to %s on this node and beside the master key file of every other node, then rotate", adminapi.ErrNoNextKey, nextPath)
		}
	} else {
		next, _, err = secrets.LoadOrCreateMasterKey(nextPath)
	}
	if err != nil {
		return "", "", 0, err
	}
	v.held[next.ID()] = next
	oldID = v.store.MasterKeyID()
	if oldID == next.ID() {
		// Promoted already (the recorded rotation was followed): the old
		// key is the one the file still holds.
		if cur, _, err := secrets.LoadOrCreateMasterKey(v.path); err == nil && cur.ID() != next.ID() {
			oldID = cur.ID()
			v.store.Hold(cur)
		}
	}
	from := keyState{current: oldID}
	begun := keyState{current: oldID, next: next.ID()}
	if oldID != next.ID() && v.store.MasterKeyID() != next.ID() {
		n, err = v.store.RotateMasterWith(ctx, next, func(ctx context.Context) error { return v.record(ctx, from, begun) })
		if err != nil {
			return "", "", n, err
		}
	} else if err := v.record(ctx, from, begun); err != nil {
		return "", "", 0, err
	}
	// A last pass for what another node set under the old key before it
	// saw the rotation begin.
	m, err := v.store.Rewrap(ctx)
	n += m
	if err != nil {
		return "", "", n, err
	}
	if err := v.record(ctx, begun, keyState{current: next.ID()}); err != nil {
		return "", "", n, err
	}
	if old := v.held[oldID]; old != nil {
		v.store.Hold(old) // for what another node may still seal under it
	}
	if err := os.Rename(nextPath, v.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", n, fmt.Errorf("the secrets are re-wrapped under %s, but its key file could not replace the old one: %w (move %s to %s by hand)", next.ID(), err, nextPath, v.path)
	}
	return oldID, next.ID(), n, nil
}

// record changes the recorded state from from to to; it succeeds if the
// state is to already.
func (v *secretVault) record(ctx context.Context, from, to keyState) error {
	e, err := v.settings.Get(ctx, settingMasterKey)
	if err != nil {
		return fmt.Errorf("reading the master key's id: %w", err)
	}
	cur := parseKeyState(string(e.Value), e.Revision)
	switch cur.String() {
	case to.String():
		return nil
	case from.String():
	default:
		return fmt.Errorf("%w: the store records master key %s, not %s: another node changed it", secrets.ErrWrongMasterKey, cur, from)
	}
	if _, err := v.settings.Update(ctx, settingMasterKey, []byte(to.String()), e.Revision); err != nil {
		return fmt.Errorf("recording the master key's id: %w", err)
	}
	return nil
}
