package posture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pave-dev/pave/internal/wasmbin"
)

// wantTestBuildInfo checks what ReadBuildInfo read from testModInfo.
func wantTestBuildInfo(t *testing.T, b []byte, version string) {
	t.Helper()
	bi, err := ReadBuildInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if bi.GoVersion != version || bi.Path != "example.com/app" || bi.Main.Path != "example.com/app" {
		t.Errorf("build info = %q %q %q", bi.GoVersion, bi.Path, bi.Main.Path)
	}
	if len(bi.Deps) != 2 || bi.Deps[0].Path != "golang.org/x/text" || bi.Deps[0].Version != "v0.3.7" ||
		bi.Deps[1].Replace == nil || bi.Deps[1].Replace.Path != "example.com/new" {
		t.Errorf("deps = %+v", bi.Deps)
	}
}

func TestReadBuildInfoBlob(t *testing.T) {
	b := blob("go1.30.1", testModInfo)
	t.Run("one segment", func(t *testing.T) {
		wantTestBuildInfo(t, moduleWithData(active(0x1000, []byte("xx")), active(0x2000, b)), "go1.30.1")
	})
	t.Run("zeros of the header left out", func(t *testing.T) {
		// Go's wasm linker leaves out runs of 8 or more zero bytes; the
		// header's zero pointers then split the blob in two segments.
		wantTestBuildInfo(t, moduleWithData(
			active(0x2000, b[:16]),
			active(0x2000+32, b[32:]),
		), "go1.30.1")
	})
	t.Run("misaligned copy first", func(t *testing.T) {
		wantTestBuildInfo(t, moduleWithData(
			active(0x1008, cat(buildInfoMagic, []byte("garbage"))),
			active(0x2000, b),
		), "go1.30.1")
	})
	t.Run("aligned but undecodable copy first", func(t *testing.T) {
		bogus := append([]byte(nil), b[:32]...)
		bogus = binary.AppendUvarint(bogus, 1<<40) // a length far past the data
		wantTestBuildInfo(t, moduleWithData(active(0x1000, bogus), active(0x2000, b)), "go1.30.1")
	})
	t.Run("empty version: the framed module list still counts", func(t *testing.T) {
		wantTestBuildInfo(t, moduleWithData(active(0x1000, blob("", testModInfo))), "")
	})
	t.Run("pointer format before Go 1.18", func(t *testing.T) {
		// The header points at two Go string headers (pointer, length),
		// which point at the strings.
		const base = 0x4000
		vers, mod := "go1.17.13", string(framed(testModInfo))
		h := make([]byte, 32)
		copy(h, buildInfoMagic)
		h[14], h[15] = 8, 0 // 8-byte little-endian pointers
		binary.LittleEndian.PutUint64(h[16:], base+64)
		binary.LittleEndian.PutUint64(h[24:], base+80)
		strs := make([]byte, 32)
		binary.LittleEndian.PutUint64(strs[0:], base+128)
		binary.LittleEndian.PutUint64(strs[8:], uint64(len(vers)))
		binary.LittleEndian.PutUint64(strs[16:], base+256)
		binary.LittleEndian.PutUint64(strs[24:], uint64(len(mod)))
		wantTestBuildInfo(t, moduleWithData(
			active(base, h),
			active(base+64, strs),
			active(base+128, []byte(vers)),
			active(base+256, []byte(mod)),
		), "go1.17.13")
	})
}

func TestReadBuildInfoFramed(t *testing.T) {
	// What Go's wasm linker writes: the version in the producers section,
	// the module list in rodata, between other strings.
	data := cat([]byte("runtime: bad pointer"), framed(testModInfo), []byte("ParseDuration"))
	wantTestBuildInfo(t, cat(moduleWithData(active(0x1000, data)), producers("go1.30.1")), "go1.30.1")

	t.Run("no producers section", func(t *testing.T) {
		wantTestBuildInfo(t, moduleWithData(active(0x1000, data)), "")
	})
	t.Run("producers only", func(t *testing.T) {
		bi, err := ReadBuildInfo(cat(moduleWithData(active(0, []byte("x"))), producers("go1.30.1")))
		if err != nil || bi.GoVersion != "go1.30.1" || bi.Path != "" || len(bi.Deps) != 0 {
			t.Errorf("ReadBuildInfo = %+v, %v", bi, err)
		}
	})
	t.Run("producers of another language", func(t *testing.T) {
		p := section(wasmbin.SectionCustom, cat(name("producers"), vec(
			cat(name("language"), vec(cat(name("Rust"), name("1.80.0")))),
		)))
		if _, err := ReadBuildInfo(cat(moduleWithData(active(0, []byte("x"))), p)); !errors.Is(err, ErrNoBuildInfo) {
			t.Errorf("ReadBuildInfo = %v, want ErrNoBuildInfo", err)
		}
	})
}

func TestReadBuildInfoNone(t *testing.T) {
	for name, b := range map[string][]byte{
		"no data":                module(),
		"ordinary data":          moduleWithData(active(0x1000, []byte("hello, world"))),
		"magic without a header": moduleWithData(active(0x1000, buildInfoMagic)),
		"start without an end":   moduleWithData(active(0x1000, cat(modInfoStart, []byte(testModInfo)))),
		"end without a start":    moduleWithData(active(0x1000, cat([]byte(testModInfo), modInfoEnd))),
	} {
		t.Run(name, func(t *testing.T) {
			if bi, err := ReadBuildInfo(b); !errors.Is(err, ErrNoBuildInfo) {
				t.Errorf("ReadBuildInfo = %+v, %v; want ErrNoBuildInfo", bi, err)
			}
		})
	}
	t.Run("module list that does not parse", func(t *testing.T) {
		b := moduleWithData(active(0x1000, blob("go1.30.1", "dep\tonly-a-path\n")))
		if _, err := ReadBuildInfo(b); !errors.Is(err, ErrNoBuildInfo) {
			t.Errorf("ReadBuildInfo = %v; want ErrNoBuildInfo", err)
		}
	})
}

func TestUnframe(t *testing.T) {
	if got := unframe(string(framed("path\tx\n"))); got != "path\tx\n" {
		t.Errorf("unframe = %q", got)
	}
	for _, s := range []string{"", "short", string(bytes.Repeat([]byte("x"), 40))} {
		if got := unframe(s); got != "" {
			t.Errorf("unframe(%q) = %q, want empty", s, got)
		}
	}
}
