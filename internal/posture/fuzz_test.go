package posture

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/wasmbin"
)

// FuzzParseModule feeds arbitrary bytes to the module parser and to
// everything built on it. They must never panic, and what the parser
// returns must point into the input.
func FuzzParseModule(f *testing.F) {
	f.Add([]byte{})
	f.Add(wasmHeader)
	f.Add(module())
	f.Add(moduleWithData(active(0x1000, []byte("AKIAxxxx")), passive([]byte("pave_k_")), active(0, nil)))
	f.Add(moduleWithData(active(0x2000, blob("go1.30.1", testModInfo))))
	f.Add(cat(moduleWithData(active(0x1000, framed(testModInfo))), producers("go1.30.1")))
	f.Add(module(section(wasmbin.SectionData, vec(cat([]byte{0x02, 0x00, 0x42}, sleb(-1), []byte{0x0b}, uleb(3), []byte("abc"))))))
	f.Add(module(section(wasmbin.SectionCustom, cat(name("producers"), []byte{0xff, 0xff}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseModule(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, s := range m.segments {
			if s.Offset < 0 || s.Offset+len(s.Data) > len(b) || !bytes.Equal(b[s.Offset:s.Offset+len(s.Data)], s.Data) {
				t.Fatalf("segment %d does not point into the input", s.Index)
			}
		}
		img := m.memory()
		for _, s := range img.segs {
			if got, ok := img.read(s.Addr, uint64(len(s.Data))); ok && len(got) != len(s.Data) {
				t.Fatalf("read returned %d bytes, want %d", len(got), len(s.Data))
			}
		}
		leaks := m.scanSecrets()
		if len(leaks) > maxLeaks {
			t.Fatalf("%d leaks, over the cap", len(leaks))
		}
		for _, l := range leaks {
			if l.Offset < 0 || l.Offset >= len(b) || len([]rune(l.Preview)) > 5 || !strings.HasSuffix(l.Preview, "…") {
				t.Fatalf("leak %+v", l)
			}
		}
		if _, err := m.buildInfo(); err != nil && !errors.Is(err, ErrNoBuildInfo) {
			t.Fatalf("buildInfo: %v", err)
		}
	})
}

// FuzzBuildInfo places arbitrary data at an arbitrary address of a
// well-formed module, split where the fuzzer says as Go's linker splits
// segments, so that the build info decoder, not the module parser, sees
// the fuzzer's bytes.
func FuzzBuildInfo(f *testing.F) {
	b := blob("go1.30.1", testModInfo)
	f.Add(b, uint32(0x2000), uint16(0), uint16(0))
	f.Add(b, uint32(0x2000), uint16(16), uint16(16))
	f.Add(b, uint32(0x2008), uint16(0), uint16(0))
	f.Add(cat(b[:32], binary.AppendUvarint(nil, 1<<62)), uint32(0x10), uint16(0), uint16(0))
	old := make([]byte, 64)
	copy(old, buildInfoMagic)
	old[14] = 8
	binary.LittleEndian.PutUint64(old[16:], 0xffff_ffff_ffff_fff0)
	binary.LittleEndian.PutUint64(old[24:], 32)
	f.Add(old, uint32(0), uint16(0), uint16(0))
	f.Add(cat([]byte("xx"), framed(testModInfo)), uint32(7), uint16(0), uint16(0))
	f.Add(cat(modInfoStart, modInfoStart, []byte("\n"), modInfoEnd), uint32(1), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, addr uint32, cut, gap uint16) {
		var mod []byte
		if c := int(cut); c > 0 && c < len(data) {
			mod = moduleWithData(active(addr, data[:c]), active(addr+uint32(c)+uint32(gap), data[c:]))
		} else {
			mod = moduleWithData(active(addr, data))
		}
		mod = cat(mod, producers(string(data[:min(len(data), 12)])))
		bi, err := ReadBuildInfo(mod)
		if err != nil {
			if !errors.Is(err, ErrNoBuildInfo) {
				t.Fatalf("ReadBuildInfo: %v", err)
			}
			return
		}
		if len(bi.GoVersion) > maxBuildInfoString {
			t.Fatalf("a version of %d bytes", len(bi.GoVersion))
		}
	})
}

// FuzzParseOSV feeds arbitrary text to the OSV parser, and matches what it
// accepts against a few versions.
func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(osvRecord1))
	f.Add([]byte("[" + osvRecord1 + "," + osvRecord2 + "]"))
	f.Add([]byte(strings.ReplaceAll(osvRecord1, "\n", "") + "\n" + strings.ReplaceAll(osvRecord2, "\n", "")))
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"last_affected":"1.2.3"},{"limit":"*"}]}],"versions":["1.0.0"]}]}`))
	f.Add([]byte(`{"id":"X","withdrawn":"now"}`))
	f.Add([]byte(`[1, "x", null]`))
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[{}]}]}]}`))
	f.Add([]byte(`[{"id":"A","aliases":["B"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]},` +
		`{"id":"B","aliases":["C"],"database_specific":{"severity":"LOW"},"affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := ParseOSV(data)
		if err != nil {
			return
		}
		checkLookups(t, db)
	})
}

// checkLookups looks every package of db up at a few versions: a
// vulnerability names the package, version and a severity that exists,
// and no name is both one vulnerability's and another's (aliases merge).
func checkLookups(t *testing.T, db *OSV) {
	for pkg := range db.byPackage {
		for _, v := range []string{"0.0.0", "v1.0.0", "1.2.3", "1.2.4-rc.1", "v0.0.0-20210101000000-abcdef123456", "99999999999999999999.0.0"} {
			names := map[string]string{}
			for _, vuln := range db.Lookup(pkg, v) {
				if vuln.Package != pkg || vuln.Version != v || vuln.ID == "" || (vuln.Severity != 0 && !vuln.Severity.valid()) {
					t.Fatalf("Lookup(%q, %q) = %+v", pkg, v, vuln)
				}
				for _, name := range append([]string{vuln.ID}, vuln.Aliases...) {
					if other, ok := names[name]; ok && other != vuln.ID {
						t.Fatalf("Lookup(%q, %q): %s is a name of %s and %s", pkg, v, name, other, vuln.ID)
					}
					names[name] = vuln.ID
				}
			}
		}
	}
}

// FuzzOSVZip: an archive of any bytes loads or fails with an error, and
// what loads looks up as ParseOSV's records do.
func FuzzOSVZip(f *testing.F) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, text := range map[string]string{"index/db.json": `{}`, "ID/GO-2026-0001.json": osvRecord1, "GO-2026-0002.json": osvRecord2} {
		fw, _ := w.Create(name)
		fw.Write([]byte(text))
	}
	w.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db := newOSV()
		if err := db.parseZip(data); err != nil {
			return
		}
		checkLookups(t, db)
	})
}

// FuzzCompareVersions checks that the order is antisymmetric and
// reflexive on everything it accepts.
func FuzzCompareVersions(f *testing.F) {
	f.Add("1.2.3", "1.2.3-rc.1")
	f.Add("v0.0.0-20210101000000-abcdef123456", "v0.0.1")
	f.Add("1.0.0-alpha.1", "1.0.0-alpha.beta")
	f.Add("v2.0.0+incompatible", "2")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ok := CompareVersions(a, b)
		if !ok {
			return
		}
		if ba, _ := CompareVersions(b, a); ba != -ab {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if aa, _ := CompareVersions(a, a); aa != 0 {
			t.Fatalf("compare(%q, %q) = %d", a, a, aa)
		}
	})
}
