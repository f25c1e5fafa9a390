package runtime

import "os"

// TestArtefacts is the snapshot store the tests of this package share, so
// that each guest is initialised once per test run.
var TestArtefacts ArtefactStore = sharedArtefacts

// TestCacheDir is the compilation cache the engines of these tests share, so
// that each module is compiled once per test run; TestMain removes it.
var TestCacheDir = func() string {
	dir, err := os.MkdirTemp("", "pave-runtime-test-cache-")
	if err != nil {
		panic(err)
	}
	return dir
}()

// loaded reports whether digest is loaded in e.
func (e *Engine) loaded(digest string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.modules[digest]
	return ok
}

// SharesCode reports whether the snapshots of m and o run one compiled
// module.
func (m *Module) SharesCode(o *Module) bool {
	return m.snap != nil && o.snap != nil && m.snap.current() == o.snap.current()
}

// WaitForMachineCode returns once every module prepared so far serves as
// machine code.
func (e *Engine) WaitForMachineCode() { e.upgrades.Wait() }
