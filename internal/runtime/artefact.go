package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ArtefactStore keeps prepared snapshots, so that a restart (or another
// node) compiles the pre-initialised module from the cache instead of
// initialising the module again. *store.Blobs provides it.
type ArtefactStore interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
}

// snapshotFormat versions the artefact encoding and the rewrite that
// produced it; changing either bumps it, and old artefacts are ignored.
// 2: modules carry the interrupt flag; 3: bounded tables; 4: no custom
// sections but the name section; 5: the module starts in the original's
// state, not the image's, and the host brings each instance to the image.
const snapshotFormat = 5

var artefactMagic = []byte("pave-snapshot\x00")

// artefactName is where the snapshot of the module with digest is kept.
func artefactName(digest string) string {
	return fmt.Sprintf("snapshot-v%d-%s", snapshotFormat, strings.TrimPrefix(digest, "sha256:"))
}

// artefact is a snapshot in storable form.
type artefact struct {
	digest  string
	imports []importRef
	globals []int
	values  []uint64
	image   []byte
	module  []byte // the module instances run (wasmbin.Preinitialize, then AddInterrupt)
}

func (a *artefact) encode() []byte {
	var b bytes.Buffer
	b.Grow(len(artefactMagic) + len(a.image) + len(a.module) + 64*(len(a.imports)+len(a.globals)+4)) // once, not by doubling
	b.Write(artefactMagic)
	put := func(v uint64) { b.Write(binary.AppendUvarint(nil, v)) }
	putBytes := func(p []byte) { put(uint64(len(p))); b.Write(p) }
	putBytes([]byte(a.digest))
	put(uint64(len(a.imports)))
	for _, im := range a.imports {
		putBytes([]byte(im.Module))
		putBytes([]byte(im.Name))
	}
	put(uint64(len(a.globals)))
	for i, g := range a.globals {
		put(uint64(g))
		put(a.values[i])
	}
	putBytes(a.image)
	putBytes(a.module)
	return b.Bytes()
}

var errArtefact = errors.New("malformed snapshot artefact")

func decodeArtefact(data []byte, digest string) (*artefact, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(artefactMagic))
	if _, err := r.Read(magic); err != nil || !bytes.Equal(magic, artefactMagic) {
		return nil, errArtefact
	}
	get := func() uint64 {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return 1 << 62 // fails every length check below
		}
		return v
	}
	getBytes := func() []byte {
		n := get()
		if n > uint64(r.Len()) {
			return nil
		}
		p := make([]byte, n)
		_, _ = r.Read(p)
		return p
	}
	a := &artefact{digest: string(getBytes())}
	if a.digest != digest {
		return nil, fmt.Errorf("%w: made for another module", errArtefact)
	}
	n := get()
	if n > uint64(r.Len()) {
		return nil, errArtefact
	}
	for i := uint64(0); i < n; i++ {
		a.imports = append(a.imports, importRef{Module: string(getBytes()), Name: string(getBytes())})
	}
	n = get()
	if n > uint64(r.Len()) {
		return nil, errArtefact
	}
	for i := uint64(0); i < n; i++ {
		a.globals = append(a.globals, int(get()))
		a.values = append(a.values, get())
	}
	a.image = getBytes()
	a.module = getBytes()
	if r.Len() != 0 || len(a.module) == 0 || len(a.image)%65536 != 0 || len(a.globals) == 0 {
		return nil, errArtefact
	}
	return a, nil
}

// loadArtefact returns the module for digest from its stored snapshot, if
// there is one that decodes and compiles.
func (e *Engine) loadArtefact(ctx context.Context, digest string) (*Module, bool) {
	if e.artefacts == nil || e.fresh {
		return nil, false
	}
	data, err := e.artefacts.Get(ctx, artefactName(digest))
	if err != nil {
		return nil, false
	}
	a, err := decodeArtefact(data, digest)
	if err != nil {
		return nil, false
	}
	served, err := e.compileServed(ctx, a.module, false)
	if err != nil {
		return nil, false
	}
	snap := e.newSnapshot(served, a.image, a.globals, a.values)
	return &Module{
		Digest:    digest,
		Mode:      Reactor,
		Imports:   importModules(a.imports),
		MinMemory: uint64(len(a.image)),
		Isolation: Snapshot,
		imports:   a.imports,
		snap:      snap,
	}, true
}

// saveSnapshot stores a for later loads; failing to is not an error, only
// a slower next start.
func (e *Engine) saveSnapshot(ctx context.Context, a *artefact) {
	if e.artefacts != nil {
		_ = e.artefacts.Put(ctx, artefactName(a.digest), a.encode())
	}
}
