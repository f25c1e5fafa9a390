package runtime

import (
	"strconv"
	"strings"
)

// ArtefactModuleDigest reports whether name is where an engine keeps a
// prepared snapshot (see artefactName) and returns the digest
// ("sha256:<hex>") of the module the snapshot was prepared from, so that
// garbage collection can drop the snapshots of modules no longer deployed.
//
// A snapshot of an older format, which no engine of this build reads, is
// reported as an artefact with an empty digest: no module needs it. One of
// a newer format (written by a newer node sharing the store) maps to its
// module like a current one, so it lives as long as that module.
func ArtefactModuleDigest(name string) (digest string, ok bool) {
	rest, found := strings.CutPrefix(name, "snapshot-v")
	if !found {
		return "", false
	}
	format, hex, found := strings.Cut(rest, "-")
	if !found || !canonicalNumber(format) || !lowerHex64(hex) {
		return "", false
	}
	n, err := strconv.Atoi(format) // at most 9 digits: cannot overflow
	if err != nil {
		return "", false
	}
	if n < snapshotFormat {
		return "", true
	}
	return "sha256:" + hex, true
}

// canonicalNumber reports whether s is a decimal number as %d prints it.
func canonicalNumber(s string) bool {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lowerHex64 reports whether s is a sha256 sum in lower-case hex.
func lowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
