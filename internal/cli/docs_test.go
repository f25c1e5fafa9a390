package cli

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocumentedCommandLines checks every pave command line that README.md
// and docs/*.md show, in code spans and code blocks: the command must exist
// and define every flag the line gives it.
func TestDocumentedCommandLines(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join("..", "..", "README.md")}, files...)
	flags := map[string][]string{} // by command name, as --help lists them
	checked := 0
	for _, file := range files {
		for _, code := range codeOf(t, file) {
			for _, line := range paveLines(code.text) {
				checked++
				if err := checkCommandLine(t, line, flags); err != "" {
					t.Errorf("%s:%d: %q: %s", file, code.line, strings.Join(line, " "), err)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("found only %d command lines: the scan is broken", checked)
	}
}

// docCode is a code span, or a line of a code block, of a Markdown file.
type docCode struct {
	line int
	text string
}

var codeSpanRE = regexp.MustCompile("`([^`]+)`")

// codeOf returns the code of a Markdown file.
func codeOf(t *testing.T, file string) []docCode {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docCode
	inBlock := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			out = append(out, docCode{n, line})
			continue
		}
		for _, m := range codeSpanRE.FindAllStringSubmatch(line, -1) {
			out = append(out, docCode{n, m[1]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// separators end a shell command.
var separators = []string{"|", "||", "&&", ";", "#", ">", "2>&1", "\\", "$"}

// paveLines returns the arguments of each pave command line in code: what
// follows "pave" (or "go run ./cmd/pave") up to the end of the command. A
// command starts the code or follows a separator, so that a message such
// as "in use by another pave daemon" is not taken for one.
func paveLines(code string) [][]string {
	var lines [][]string
	words := strings.Fields(code)
	for i := 0; i < len(words); i++ {
		if words[i] != "pave" && words[i] != "./cmd/pave" {
			continue
		}
		if i > 0 && !slices.Contains(separators, words[i-1]) && words[i-1] != "run" {
			continue
		}
		var args []string
		for _, w := range words[i+1:] {
			if slices.Contains(separators, w) || strings.HasSuffix(w, ";") {
				break
			}
			args = append(args, strings.Trim(w, ",.:"))
		}
		if len(args) > 0 {
			lines = append(lines, args)
		}
	}
	return lines
}

// placeholderRE matches a word that stands for a command, such as COMMAND
// or <command>.
var placeholderRE = regexp.MustCompile(`^([A-Z_]+|<.*>|\[.*|\.\.\.|…)$`)

// checkCommandLine returns what is wrong with the pave command line args,
// or "".
func checkCommandLine(t *testing.T, args []string, flags map[string][]string) string {
	cmds, name, i := commands, "", 0
	for ; i < len(args); i++ {
		k := slices.IndexFunc(cmds, func(c *command) bool { return c.name == strings.TrimSpace(name+" "+args[i]) })
		if k < 0 {
			break
		}
		name = cmds[k].name
		cmds = cmds[k].subcommands
		if cmds == nil {
			i++
			break
		}
	}
	switch {
	case name == "" && i < len(args) && !strings.HasPrefix(args[i], "-") && !placeholderRE.MatchString(args[i]):
		// Prose such as "pave is up" is not a command line.
		if !regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(args[i]) || !looksLikeCommand(args) {
			return ""
		}
		return "no such command"
	case i < len(args) && cmds != nil && !strings.HasPrefix(args[i], "-") && !placeholderRE.MatchString(args[i]) && name != "":
		return "no such command in " + name
	}
	known, ok := flags[name]
	if !ok {
		for _, f := range commandFlags(context.Background(), name) {
			known = append(known, f.word)
		}
		known = append(known, "h")
		flags[name] = known
	}
	for _, a := range args[i:] {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" || placeholderRE.MatchString(strings.TrimLeft(a, "-")) {
			continue
		}
		flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		flag = strings.TrimRight(flag, "]")
		if flag == "" || strings.ContainsAny(flag, "[]{}()`'\"") || !regexp.MustCompile(`^[a-z][a-z0-9-]*$`).MatchString(flag) {
			continue
		}
		if !slices.Contains(known, flag) {
			return "pave " + name + " has no flag -" + flag
		}
	}
	return ""
}

// looksLikeCommand tells a command line from a message that starts with
// pave, such as "pave is serving": a command line is one word, or has a
// flag.
func looksLikeCommand(args []string) bool {
	return len(args) == 1 || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") })
}

// TestCheckCommandLine shows that the check of documented command lines
// can fail.
func TestCheckCommandLine(t *testing.T) {
	flags := map[string][]string{}
	for _, tc := range []struct {
		code string
		bad  bool
	}{
		{"pave posture --offline . --osv osv.json --fail-on high", false},
		{"pave posture --osv-file osv.json", true},
		{"go run ./cmd/pave up --verbose --data /tmp/p", false},
		{"pave up --bogus", true},
		{"pave keys create ci --functions hello", false},
		{"pave keys make ci", true},
		{"pave frobnicate", true},
		{"pave COMMAND --help", false},
		{"in use by another pave daemon", false},
		{"pave is serving", false},
	} {
		lines := paveLines(tc.code)
		var bad bool
		for _, l := range lines {
			bad = bad || checkCommandLine(t, l, flags) != ""
		}
		if bad != tc.bad {
			t.Errorf("%q: refused %v, want %v", tc.code, bad, tc.bad)
		}
	}
}
