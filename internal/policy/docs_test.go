package policy_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/policy"
)

func readPolicyDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/POLICY.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocumentedFields checks that docs/POLICY.md's table of the data
// lists every field rules can read, and no field they cannot.
func TestDocumentedFields(t *testing.T) {
	doc := readPolicyDoc(t)
	var want []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			path := prefix + "." + f.Tag.Get("cel")
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == typ.PkgPath():
				walk(path, f.Type)
			default:
				want = append(want, path)
			}
		}
	}
	walk("manifest", reflect.TypeFor[policy.Manifest]())
	walk("route", reflect.TypeFor[policy.Route]())
	walk("trigger", reflect.TypeFor[policy.Trigger]())
	want = append(want, "host")
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\|").FindAllStringSubmatch(doc, -1) {
		rows[m[1]] = true
	}
	for _, path := range want {
		if !rows[path] {
			t.Errorf("docs/POLICY.md does not document %s", path)
		}
		delete(rows, path)
	}
	for path := range rows {
		if strings.Contains(path, ".") || path == "host" {
			t.Errorf("docs/POLICY.md documents %s, which rules cannot read", path)
		}
	}
}

// TestDocumentedExamples checks that every rule docs/POLICY.md shows
// compiles.
func TestDocumentedExamples(t *testing.T) {
	doc := readPolicyDoc(t)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("%d yaml blocks", len(blocks))
	}
	rules := 0
	for _, b := range blocks {
		text := b[1]
		if !strings.HasPrefix(text, "policies:") {
			text = "policies:\n" + text
		}
		set, err := policy.Parse("POLICY.md", []byte(text))
		if err != nil {
			t.Errorf("%v\n%s", err, text)
			continue
		}
		rules += set.Len()
	}
	if rules < 9 {
		t.Errorf("%d rules in the examples", rules)
	}
}
