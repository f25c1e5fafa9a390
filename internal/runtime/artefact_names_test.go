package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestArtefactModuleDigest(t *testing.T) {
	sum := sha256.Sum256([]byte("module"))
	h := hex.EncodeToString(sum[:])
	digest := "sha256:" + h
	tests := []struct {
		name   string
		digest string
		ok     bool
	}{
		{artefactName(digest), digest, true},
		{fmt.Sprintf("snapshot-v%d-%s", snapshotFormat+1, h), digest, true}, // newer format: same module
		{"snapshot-v0-" + h, "", true},                                      // older format: no module needs it
		{h, "", false},                                                      // a registry blob, not an artefact
		{"sha256:" + h, "", false},
		{"snapshot-v1-" + strings.ToUpper(h), "", false},
		{"snapshot-v1-" + h[:63], "", false},
		{"snapshot-v1-" + h + "0", "", false},
		{"snapshot-v1-sha256:" + h, "", false},
		{"snapshot-v01-" + h, "", false},
		{"snapshot-v-" + h, "", false},
		{"snapshot-v+1-" + h, "", false},
		{"snapshot-v1" + h, "", false},
		{"snapshot-v9999999999-" + h, "", false},
		{"xsnapshot-v1-" + h, "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		d, ok := ArtefactModuleDigest(tt.name)
		if d != tt.digest || ok != tt.ok {
			t.Errorf("ArtefactModuleDigest(%q) = %q, %v; want %q, %v", tt.name, d, ok, tt.digest, tt.ok)
		}
	}
}

// FuzzArtefactModuleDigest checks that every name the engine writes maps
// back to its module, and that any name accepted is one it could write.
func FuzzArtefactModuleDigest(f *testing.F) {
	sum := sha256.Sum256(nil)
	f.Add(artefactName("sha256:" + hex.EncodeToString(sum[:])))
	f.Add("snapshot-v0-" + hex.EncodeToString(sum[:]))
	f.Add("snapshot-v1-")
	f.Fuzz(func(t *testing.T, name string) {
		d, ok := ArtefactModuleDigest(name)
		if !ok {
			if d != "" {
				t.Fatalf("%q: digest %q without ok", name, d)
			}
			return
		}
		if d == "" {
			if !strings.HasPrefix(name, "snapshot-v0-") || len(name) != len("snapshot-v0-")+64 {
				t.Fatalf("%q taken for an old-format artefact", name)
			}
			return
		}
		h, found := strings.CutPrefix(d, "sha256:")
		if !found || !lowerHex64(h) || !strings.HasSuffix(name, "-"+h) {
			t.Fatalf("%q maps to %q", name, d)
		}
		var n int
		if _, err := fmt.Sscanf(name, "snapshot-v%d-", &n); err != nil || n < snapshotFormat || fmt.Sprintf("snapshot-v%d-%s", n, h) != name {
			t.Fatalf("%q maps to %q but is not a name the engine writes", name, d)
		}
		if n == snapshotFormat && artefactName(d) != name {
			t.Fatalf("artefactName(%q) = %q, not %q", d, artefactName(d), name)
		}
	})
}
