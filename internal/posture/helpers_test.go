package posture

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/wasmbin"
	"github.com/pave-dev/pave/internal/wasmbin/wasmtest"
)

// The tests write WebAssembly binaries with the encoders of package
// wasmtest, under short names: their tables use them on almost every line.
var (
	wasmHeader = []byte(wasmtest.Header)
	uleb       = wasmtest.ULEB
	sleb       = wasmtest.SLEB
	cat        = wasmtest.Cat
	section    = wasmtest.Section
	vec        = wasmtest.Vec
	name       = wasmtest.Name
	active     = wasmtest.Active
	passive    = wasmtest.Passive
)

// module returns a binary with a memory of 2 pages and, after it, the
// given sections.
func module(sections ...[]byte) []byte {
	memory := section(5, vec(cat([]byte{0x00}, uleb(2))))
	return cat(wasmHeader, memory, cat(sections...))
}

// moduleWithData returns a module whose data section holds segments.
func moduleWithData(segments ...[]byte) []byte {
	return module(section(wasmbin.SectionData, vec(segments...)))
}

// producers is a producers custom section naming Go at version.
func producers(version string) []byte {
	return wasmtest.CustomSection("producers", vec(
		cat(name("language"), vec(cat(name("Go"), name(version)))),
		cat(name("processed-by"), vec(cat(name("Go cmd/compile"), name(version)))),
	))
}

// framed wraps a module list in the go command's sentinels.
func framed(modinfo string) []byte {
	return cat(modInfoStart, []byte(modinfo), modInfoEnd)
}

// blob is the linker's build info blob in the inline format of Go 1.18
// and later.
func blob(version, modinfo string) []byte {
	b := make([]byte, buildInfoHeaderSize)
	copy(b, buildInfoMagic)
	b[14] = 8
	b[15] = 0x2
	b = binary.AppendUvarint(b, uint64(len(version)))
	b = append(b, version...)
	mod := framed(modinfo)
	b = binary.AppendUvarint(b, uint64(len(mod)))
	return append(b, mod...)
}

// fakeSum stands for a go.sum hash.
const fakeSum = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

const testModInfo = "path\texample.com/app\n" +
	"mod\texample.com/app\t(devel)\t\n" +
	"dep\tgolang.org/x/text\tv0.3.7\th1:" + fakeSum + "\n" +
	"dep\texample.com/old\tv1.0.0\n" +
	"=>\texample.com/new\tv1.5.0\th1:" + fakeSum + "\n" +
	"build\tGOOS=wasip1\n"

// random returns n characters drawn from alphabet with crypto/rand: test
// credentials are made at run time, never committed.
func random(t testing.TB, alphabet string, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum       = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	base32Lower = "abcdefghijklmnopqrstuvwxyz234567"
	digits      = "0123456789"
)

func mustParse(t testing.TB, yaml string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse("pave.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("manifest: %v\n%s", err, yaml)
	}
	return m
}

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return testNow.Add(-time.Duration(n) * day) }

func testPolicy() Policy {
	p := DefaultPolicy()
	p.Now = func() time.Time { return testNow }
	return p
}
