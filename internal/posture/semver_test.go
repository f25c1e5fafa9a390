package posture

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"v1.2.3", "1.2.3", 0},
		{"1.2.3", "1.2.4", -1},
		{"1.2.10", "1.2.9", 1}, // numerically, not lexically
		{"1.10.0", "1.9.9", 1},
		{"2.0.0", "10.0.0", -1},
		{"1.2.99999999999999999999", "1.2.3", 1}, // beyond uint64
		{"v1", "v1.0.0", 0},
		{"v1.2", "v1.2.0", 0},
		{"0", "0.0.0", 0},
		// The precedence example of semver.org, item 11.
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-alpha.beta", "1.0.0-beta", -1},
		{"1.0.0-beta", "1.0.0-beta.2", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-beta.11", "1.0.0-rc.1", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0", "1.0.0-rc.1", 1},
		{"1.0.0-1", "1.0.0-a", -1}, // numeric below alphanumeric
		{"1.0.0-a-b", "1.0.0-a", 1},
		{"1.0.0-B", "1.0.0-a", -1}, // ASCII order
		// Build metadata does not count.
		{"v2.0.0+incompatible", "v2.0.0", 0},
		{"1.0.0+build.1", "1.0.0+build.2", 0},
		// Pseudo-versions.
		{"v0.0.0-20210101000000-abcdef123456", "v0.0.0-20220101000000-abcdef123456", -1},
		{"v0.0.0-20210101000000-abcdef123456", "v0.0.1", -1},
		{"v0.0.0-20210101000000-abcdef123456", "v0.0.0", -1},
		{"v1.2.4-0.20210101000000-abcdef123456", "v1.2.3", 1},
		{"v1.2.4-0.20210101000000-abcdef123456", "v1.2.4", -1},
		{"v1.2.4-0.20210101000000-abcdef123456", "v1.2.4-pre", -1},
		{"v1.2.4-pre.0.20210101000000-abcdef123456", "v1.2.4-pre", 1},
	} {
		got, ok := CompareVersions(tc.a, tc.b)
		if !ok || got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, ok, tc.want)
		}
		if back, _ := CompareVersions(tc.b, tc.a); back != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.b, tc.a, back, -tc.want)
		}
	}
}

func TestCompareVersionsInvalid(t *testing.T) {
	for _, v := range []string{
		"", "v", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3-a..b",
		"1.2.x", "v1.2-pre", "1.2.3+", "1.2.3+a_b", "-1.2.3", "1..3", "1.2.3-é", "go1.2.3",
	} {
		if _, ok := CompareVersions(v, "1.0.0"); ok {
			t.Errorf("CompareVersions(%q, ...) accepted an invalid version", v)
		}
	}
}

func TestGoVersionSemver(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"go1.26.8", "1.26.8", true},
		{"go1.21.0", "1.21.0", true},
		{"go1.20", "1.20.0", true},
		{"go1.22rc2", "1.22.0-rc.2", true},
		{"go1.23beta1", "1.23.0-beta.1", true},
		{"go1.26.8 X:nocoverageredesign", "1.26.8", true},
		{"devel go1.27-0123456789ab Mon Jan 1 00:00:00 2026 +0000", "", false},
		{"go1", "", false},
		{"go1.26.x", "", false},
		{"go1.22rc", "", false},
		{"1.26.8", "", false},
		{"", "", false},
	} {
		got, ok := GoVersionSemver(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("GoVersionSemver(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			if _, valid := parseSemver(got); !valid {
				t.Errorf("GoVersionSemver(%q) = %q, which is not a valid version", tc.in, got)
			}
		}
	}
}
