package cli

import (
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
