// Package layers holds no code. Its test keeps pave's imports pointing
// down: every package has a place in the layers below, and none imports a
// package from a higher layer. docs/PATTERNS.md says why, layer by layer.
package layers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pave-dev/pave/"

// layers are pave's packages, from the bottom up, by path in the module.
// A package imports packages of its own layer or of a layer below it,
// never of one above; the leaves import none of pave's at all. A path
// ending in "/..." stands for every package below it that is not listed
// itself. A listed package that does not exist is no error, so that a
// package can be placed before it is written. Only the imports of
// non-test files count: a test may import anything.
var layers = []layer{
	// Values, formats and parsers that others share, importing none of
	// pave's packages: a verifier of HMACs must not pull in a YAML
	// parser.
	{"leaves", []string{
		".", // the sources pave new writes into projects, embedded
		"abi",
		"client",
		"internal/apikey",
		"internal/apierror",
		"internal/certs",
		"internal/contract",
		"internal/egress",
		"internal/keyfile",
		"internal/limits",
		"internal/oidc",
		"internal/secret",
		"internal/version",
		"internal/wasmbin",
		"internal/webhook/scheme",
	}},
	// The daemon's settings, read from flags and the environment. They
	// are made of leaves' values (limits.Rate, secret.Value), not of a
	// manifest's, so the daemon's configuration does not depend on the
	// manifest's YAML parser.
	{"settings", []string{
		"internal/config",
	}},
	// What a function is declared to be.
	{"definitions", []string{
		"internal/graph",
		"internal/hostapi",
		"internal/manifest",
	}},
	// What pave keeps, and the engine that runs modules.
	{"state and engines", []string{
		"internal/audit",
		"internal/budgets",
		"internal/events",
		"internal/identity",
		"internal/members",
		"internal/metrics",
		"internal/observe",
		"internal/policy",
		"internal/registry",
		"internal/runtime",
		"internal/secrets",
		"internal/store",
		"internal/webhook",
	}},
	// What a function can do and what happens to its calls.
	{"capabilities and work", []string{
		"internal/async",
		"internal/capability",
		"internal/posture",
		"internal/triggers",
	}},
	// The HTTP servers. The admin API reaches the gateway only through
	// its own Invoker interface, so it sits below it; the web console,
	// served next to it, reads the same subsystems through interfaces of
	// its own.
	{"admin API", []string{
		"internal/adminapi",
		"internal/console",
	}},
	{"gateway", []string{
		"internal/gateway",
	}},
	{"wiring", []string{
		"internal/daemon",
	}},
	{"command line", []string{
		"internal/bench",
		"internal/cli",
		"internal/functest",
		"internal/jsbuild",
		"internal/scaffold",
	}},
	{"program", []string{
		"cmd/pave",
	}},
	// Not part of the host: what guests build on, and what only tests
	// use. Above everything, so that no host package imports them.
	{"guests and tests", []string{
		"docs",
		"examples/...",
		"internal/browsertest",
		"internal/certs/certstest",
		"internal/keyfile/keyfiletest",
		"internal/layers",
		"internal/testguests",
		"internal/testguests/precompile",
		"internal/wasmbin/wasmtest",
		"runtime/js",
		"sdk",
		"sdk/...",
	}},
}

// layer is one layer of the table: its name and its packages.
type layer struct {
	name     string
	packages []string
}

func TestImportsPointDown(t *testing.T) {
	for _, fault := range faults(layers, moduleImports(t)) {
		t.Error(fault)
	}
}

// TestLayersAreDocumented finds every layer's name in the table of
// docs/PATTERNS.md.
func TestLayersAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PATTERNS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if !bytes.Contains(doc, []byte("\n| "+l.name+" |")) {
			t.Errorf("docs/PATTERNS.md has no row for the layer %q", l.name)
		}
	}
}

// TestFaultsAreFound runs the check on a made-up module with one fault of
// each kind, so that a check that finds nothing cannot pass as a tree
// without faults.
func TestFaultsAreFound(t *testing.T) {
	table := []layer{
		{"leaves", []string{"a", "b", "gone"}}, // gone does not exist: no fault
		{"middle", []string{"m", "n", "tree/inner/..."}},
		{"top", []string{"top", "tree/...", "b"}},
	}
	imports := map[string][]string{
		"a":              {"b"},        // a leaf importing a leaf
		"a/leaf":         nil,          // in no layer: "a" is not a tree
		"b":              nil,          // listed twice
		"m":              {"a", "n"},   // down and sideways: fine
		"n":              {"a", "top"}, // up
		"new":            {"a"},        // in no layer
		"top":            {"a", "m"},   // fine
		"tree/inner/x":   {"top"},      // up, from the innermost tree's layer
		"tree/outer":     {"top", "m"}, // fine
		"treehouse/room": nil,          // in no layer: not below "tree/"
	}
	want := []string{
		"b is listed twice",
		"a is a leaf but imports b: a leaf imports none of pave's packages",
		"a/leaf is in no layer: " + placeIt,
		"n (middle) imports top (top), a higher layer: imports point down",
		"new is in no layer: " + placeIt,
		"tree/inner/x (middle) imports top (top), a higher layer: imports point down",
		"treehouse/room is in no layer: " + placeIt,
	}
	if got := faults(table, imports); !slices.Equal(got, want) {
		t.Errorf("faults:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const placeIt = "place it in the table in internal/layers/layers_test.go"

// faults checks the module's imports, by package, against table.
func faults(table []layer, imports map[string][]string) []string {
	exact, trees, faults := place(table)
	layerOf := func(pkg string) (int, bool) {
		if i, ok := exact[pkg]; ok {
			return i, true
		}
		layer, longest := 0, ""
		for root, i := range trees { // the innermost tree holding pkg
			if strings.HasPrefix(pkg, root+"/") && len(root) > len(longest) {
				layer, longest = i, root
			}
		}
		return layer, longest != ""
	}
	for _, pkg := range slices.Sorted(maps.Keys(imports)) {
		from, ok := layerOf(pkg)
		if !ok {
			faults = append(faults, pkg+" is in no layer: "+placeIt)
			continue
		}
		for _, imp := range imports[pkg] {
			to, ok := layerOf(imp)
			switch {
			case !ok:
				// Reported as a package of its own.
			case to > from:
				faults = append(faults, fmt.Sprintf("%s (%s) imports %s (%s), a higher layer: imports point down", pkg, table[from].name, imp, table[to].name))
			case from == 0:
				faults = append(faults, fmt.Sprintf("%s is a leaf but imports %s: a leaf imports none of pave's packages", pkg, imp))
			}
		}
	}
	return faults
}

// place indexes table: the layer of each package listed by its path, and
// of each tree listed as "path/...", and a fault for each package listed
// twice.
func place(table []layer) (exact, trees map[string]int, faults []string) {
	exact, trees = map[string]int{}, map[string]int{}
	for i, l := range table {
		for _, p := range l.packages {
			m, path := exact, p
			if root, ok := strings.CutSuffix(p, "/..."); ok {
				m, path = trees, root
			}
			if _, dup := m[path]; dup {
				faults = append(faults, p+" is listed twice")
				continue
			}
			m[path] = i
		}
	}
	return exact, trees, faults
}

// moduleImports lists every package of the module, by path in the module,
// with the module's packages its non-test files import.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	imports := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, ok := strings.CutPrefix(fields[0], module)
		if fields[0]+"/" == module {
			pkg, ok = ".", true // the module's root package
		}
		if !ok {
			t.Fatalf("go list: %s is not in %s", fields[0], module)
		}
		imports[pkg] = nil
		for _, imp := range fields[1:] {
			if own, ok := strings.CutPrefix(imp, module); ok {
				imports[pkg] = append(imports[pkg], own)
			} else if imp+"/" == module {
				imports[pkg] = append(imports[pkg], ".")
			}
		}
	}
	if len(imports) == 0 {
		t.Fatal("go list found no packages")
	}
	return imports
}
