package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionScript returns the script 'pave completion shell' prints.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	stdout, stderr, code := runPave(t, noDaemon(t), "", "completion", shell)
	if code != 0 || stderr != "" {
		t.Fatalf("pave completion %s: exit %d, %s", shell, code, stderr)
	}
	return stdout
}

// TestCompletionsFollowTheCommandTable checks that every command,
// subcommand and flag is in every shell's script, and that a deprecated
// flag is not offered.
func TestCompletionsFollowTheCommandTable(t *testing.T) {
	cs := completions(context.Background())
	if n := len(allCommands()); len(cs) != n+1 {
		t.Fatalf("%d completions for %d commands and pave itself", len(cs), n)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		script := completionScript(t, shell)
		for _, c := range cs {
			for _, s := range c.subcommands {
				if !strings.Contains(script, s.word) {
					t.Errorf("%s: no subcommand %q of %q", shell, s.word, c.name)
				}
			}
			for _, f := range c.flags {
				want := flagDashes(f.word) + f.word
				if shell == "fish" {
					want = " '" + f.word + "' "
				}
				if !strings.Contains(script, want) {
					t.Errorf("%s: no flag %s of %q", shell, want, c.name)
				}
			}
		}
	}
	for _, c := range cs {
		// bench's --json names a file; everywhere else it is deprecated.
		if c.name != "bench" && strings.Contains(" "+flagWords(c.flags)+" ", " --json ") {
			t.Errorf("%q offers the deprecated --json", c.name)
		}
		if c.name == "keys update" && !strings.Contains(flagWords(c.flags), "--add-functions") {
			t.Errorf("keys update completes %s", flagWords(c.flags))
		}
	}
	if _, _, code := runPave(t, noDaemon(t), "", "completion", "tcsh"); code != 2 {
		t.Errorf("pave completion tcsh: exit %d, want 2", code)
	}
}

// TestBashCompletion runs the bash script's completion function.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	file := filepath.Join(t.TempDir(), "pave.bash")
	if err := os.WriteFile(file, []byte(completionScript(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"pave dep", "deploy"},
		{"pave keys up", "update"},
		{"pave keys update ci --a", "--add-functions"},
		{"pave console user s", "set"},
		{"pave --data x console user s", "set"},
		{"pave invoke -", "-H --data --data-dir --help -i --method --path --query"},
		{"pave posture --f", "--fail-on --format"},
		{"pave up --verb", "--verbose"},
		{"pave --v", "--version"},
		{"pave deploy ls", ""}, // an argument, not a command
	} {
		words := strings.Fields(tc.line)
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pave; echo "${COMPREPLY[*]}"`
		out, err := exec.Command("bash", append([]string{"-c", script, "bash", file}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestZshAndFishScriptsParse checks the other scripts' syntax where the
// shells are installed.
func TestZshAndFishScriptsParse(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("no %s", shell)
			}
			file := filepath.Join(t.TempDir(), "pave."+shell)
			if err := os.WriteFile(file, []byte(completionScript(t, shell)), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(shell, "-n", file).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestFishCompletion asks fish what it completes, where it is installed.
func TestFishCompletion(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		t.Skip("no fish")
	}
	file := filepath.Join(t.TempDir(), "pave.fish")
	if err := os.WriteFile(file, []byte(completionScript(t, "fish")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"pave dep", "deploy\tbuild and deploy functions"},
		{"pave keys up", "update\tchange the functions an API key may call"},
		{"pave console user s", "set\tchange a web console user's role, ending their sessions"},
		{"pave keys update ci --a", "--add-functions\tcomma-separated NAMES of functions the key may call from now on"},
		{"pave invoke --me", "--method\tHTTP METHOD of the request (default: the first route's)"},
	} {
		out, err := exec.Command("fish", "-c", `source $argv[1]; complete -C $argv[2]`, file, tc.line).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestZshCompletion runs the zsh script's completion function with
// compadd and _files stubbed, where zsh is installed: zsh itself filters
// the candidates by what was typed.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("no zsh")
	}
	file := filepath.Join(t.TempDir(), "pave.zsh")
	if err := os.WriteFile(file, []byte(completionScript(t, "zsh")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"pave keys up", "create ls update revoke"},
		{"pave keys update ci --a", "--add-functions --data --help --remove-functions"},
		{"pave --data x console user s", "add ls set reset-password rm"},
		{"pave deploy ex", "FILES"},
	} {
		script := `compdef() { :; }; compadd() { shift; echo "$@"; }; _files() { echo FILES; }
source $1; shift; words=("$@"); CURRENT=$#; _pave`
		out, err := exec.Command("zsh", append([]string{"-c", script, "zsh", file}, strings.Fields(tc.line)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}
