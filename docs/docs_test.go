// Package docs holds pave's documentation. Its tests keep what the
// documents promise true of the tree: the README's two commands, every
// relative link and anchor, and every path of the tree they name.
package docs_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// root is the top of the repository, seen from this package.
const root = ".."

// The README's start section gives a newcomer exactly two commands, and
// each must do what it says: `go run ./cmd/pave up` needs the main package
// (the up command itself is tested in internal/cli), and `make check` must
// be what CI runs.
func TestReadmeCommandsAreTrue(t *testing.T) {
	commands := startCommands(t)
	if want := []string{"go run ./cmd/pave up", "make check"}; !slices.Equal(commands, want) {
		t.Fatalf("README.md's start section runs %q, want %q", commands, want)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "pave", "main.go")); err != nil {
		t.Errorf("README.md says `go run ./cmd/pave up`: %v", err)
	}
	makefile := read(t, "Makefile")
	if !regexp.MustCompile(`(?m)^check:`).MatchString(makefile) {
		t.Errorf("README.md says `make check`, but the Makefile has no check target")
	}
	if got := ciCommands(t); !slices.Equal(got, []string{"make check"}) {
		t.Errorf(".ci/run runs %q, want exactly [\"make check\"], the README's test command", got)
	}
}

// startCommands returns the commands of the first shell block in README.md's
// "Start here" section, without their comments.
func startCommands(t *testing.T) []string {
	t.Helper()
	_, section, ok := strings.Cut(read(t, "README.md"), "\n## Start here\n")
	if !ok {
		t.Fatal(`README.md has no "## Start here" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal(`README.md's "Start here" section has no sh block`)
	}
	block, _, _ = strings.Cut(block, "```")
	var commands []string
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			commands = append(commands, line)
		}
	}
	return commands
}

// ciCommands returns the commands .ci/run runs, leaving out comments and
// the shell options and directory change that precede them.
func ciCommands(t *testing.T) []string {
	t.Helper()
	var commands []string
	for _, line := range strings.Split(read(t, ".ci/run"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "set "), strings.HasPrefix(line, "cd "):
		default:
			commands = append(commands, line)
		}
	}
	return commands
}

// Every relative link in the README, DEPENDENCIES.md and docs/*.md names a
// file or directory that exists and, when it has a fragment, a heading of
// the Markdown file it points at.
func TestRelativeLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "DEPENDENCIES.md")}, files...)
	for _, f := range files {
		links, err := relativeLinks(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if err := checkLink(f, l.target); err != nil {
				t.Errorf("%s:%d: link %q: %v", f, l.line, l.target, err)
			}
		}
	}
}

// Every path of the tree a document names in code format, such as
// `internal/gateway/gateway.go`, exists: a file moved or removed takes its
// mentions with it. Placeholders in capitals (NAME) are skipped.
func TestNamedPathsExist(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "DEPENDENCIES.md")}, files...)
	named := regexp.MustCompile("`((?:internal|cmd|abi|sdk|client|examples|scripts)/[A-Za-z0-9_./-]+)`")
	placeholder := regexp.MustCompile(`(^|/)[A-Z][A-Z_]*(/|$)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(b), "\n") {
			for _, m := range named.FindAllStringSubmatch(line, -1) {
				path := strings.TrimSuffix(m[1], "/")
				if placeholder.MatchString(path) {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(path))); err != nil {
					t.Errorf("%s:%d names %s, which does not exist", f, n+1, path)
				}
			}
		}
	}
}

type link struct {
	line   int
	target string
}

var (
	linkPattern = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeSpan    = regexp.MustCompile("`[^`]*`")
)

// relativeLinks returns the inline links of a Markdown file that are not
// URLs, outside code blocks and code spans.
func relativeLinks(file string) ([]link, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var links []link
	inCode := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		for _, m := range linkPattern.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links = append(links, link{n, target})
		}
	}
	return links, sc.Err()
}

// checkLink checks one relative link target of the Markdown file from.
func checkLink(from, target string) error {
	path, fragment, _ := strings.Cut(target, "#")
	file := from
	if path != "" {
		file = filepath.Join(filepath.Dir(from), filepath.FromSlash(path))
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("no such file: %s", file)
		}
	}
	if fragment == "" {
		return nil
	}
	if !strings.HasSuffix(file, ".md") {
		return fmt.Errorf("a fragment on a file that is not Markdown")
	}
	anchors, err := headingAnchors(file)
	if err != nil {
		return err
	}
	if !anchors[fragment] {
		return fmt.Errorf("%s has no heading with the anchor #%s", file, fragment)
	}
	return nil
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown file: the heading's text in lower case, without punctuation,
// spaces made hyphens, and -1, -2 … after repeats.
func headingAnchors(file string) (map[string]bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	anchors := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		text = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(text, "$1")
		slug := slugify(text)
		anchor := slug
		for i := 1; anchors[anchor]; i++ {
			anchor = fmt.Sprintf("%s-%d", slug, i)
		}
		anchors[anchor] = true
	}
	return anchors, nil
}

// slugify turns a heading's text into its anchor as GitHub does.
func slugify(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-', r == '_', unicode.IsLetter(r), unicode.IsNumber(r), unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlugify(t *testing.T) {
	for text, want := range map[string]string{
		"The gateway's checks, in order":  "the-gateways-checks-in-order",
		"SAS-4 Over-privileged functions": "sas-4-over-privileged-functions",
		"`pave serve`":                    "pave-serve",
		"Imports: module `pave_v1`":       "imports-module-pave_v1",
		"Clean state, fast":               "clean-state-fast",
	} {
		if got := slugify(text); got != want {
			t.Errorf("slugify(%q) = %q, want %q", text, got, want)
		}
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
