package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// `pave --help` is the command list the README points to: every command,
// in order, on one line with its summary, and every group's line names its
// subcommands.
func TestHelpListsEveryCommandOnOneLine(t *testing.T) {
	stdout, _, code := runPave(t, noDaemon(t), "", "--help")
	if code != 0 {
		t.Fatalf("pave --help: exit %d", code)
	}
	_, list, ok := strings.Cut(stdout, "\nCommands:\n")
	if !ok {
		t.Fatalf("pave --help has no command list:\n%s", stdout)
	}
	list, _, _ = strings.Cut(list, "\n\n")
	lines := strings.Split(list, "\n")
	if len(lines) != len(commands) {
		t.Fatalf("pave --help lists %d lines for %d commands:\n%s", len(lines), len(commands), list)
	}
	for i, c := range commands {
		name, summary, _ := strings.Cut(strings.TrimSpace(lines[i]), " ")
		summary = strings.TrimSpace(summary)
		if name != c.name || summary == "" || summary != c.summary || strings.Contains(c.summary, "\n") {
			t.Errorf("line %d of pave --help is %q, want %q and its one-line summary", i+1, lines[i], c.name)
		}
		if c.subcommands == nil {
			continue
		}
		var words []string
		for _, sub := range c.subcommands {
			words = append(words, strings.TrimPrefix(sub.name, c.name+" "))
		}
		if want := "(" + strings.Join(words, ", ") + ")"; !strings.HasSuffix(summary, want) {
			t.Errorf("pave --help: the line of %q is %q, want it to end with its subcommands %s", c.name, summary, want)
		}
	}
}

// docs/OPERATIONS.md's table of `pave serve` lists every flag the daemon
// takes, and no other.
func TestServeFlagsAreInTheOperationsTable(t *testing.T) {
	stdout, _, code := runPave(t, noDaemon(t), "", "serve", "--help")
	if code != 0 {
		t.Fatalf("pave serve --help: exit %d", code)
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	var flags []string
	for _, m := range flagLine.FindAllStringSubmatch(stdout, -1) {
		flags = append(flags, m[1])
	}
	if len(flags) == 0 {
		t.Fatalf("pave serve --help lists no flags:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(b), "\n## `pave serve`\n")
	table, _, _ = strings.Cut(table, "\n## ")
	rowFlag := regexp.MustCompile("(?m)^\\| `--([a-z-]+)")
	var documented []string
	for _, m := range rowFlag.FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(flags)
	slices.Sort(documented)
	for _, f := range flags {
		if _, found := slices.BinarySearch(documented, f); !found {
			t.Errorf("pave serve takes --%s, which docs/OPERATIONS.md's serve table does not list", f)
		}
	}
	for _, f := range documented {
		if _, found := slices.BinarySearch(flags, f); !found {
			t.Errorf("docs/OPERATIONS.md's serve table lists --%s, which pave serve does not take", f)
		}
	}
}
