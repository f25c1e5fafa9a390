package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

var completionCommand = &command{
	name:    "completion",
	args:    "bash|zsh|fish",
	summary: "print a shell completion script",
	help: `
Prints a script that completes pave's commands, subcommands and flags in
the shell named. It is made from the commands pave has, so run it again
after an upgrade. To load it:

  bash:  source <(pave completion bash)        (in ~/.bashrc)
  zsh:   source <(pave completion zsh)         (in ~/.zshrc, after compinit)
  fish:  pave completion fish > ~/.config/fish/completions/pave.fish

Arguments that are not commands complete as file names.`,
	// run is set by init: the script is made from commands, which lists
	// this command.
}

func init() { completionCommand.run = runCompletion }

func runCompletion(ctx context.Context, inv *invocation, args []string) error {
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	write, ok := map[string]func(io.Writer, []completion) error{
		"bash": writeBashCompletion,
		"zsh":  writeZshCompletion,
		"fish": writeFishCompletion,
	}[pos[0]]
	if !ok {
		return inv.usageErrorf("unknown shell %q: want bash, zsh or fish", pos[0])
	}
	return write(inv.stdout, completions(ctx))
}

// completion is what a shell may complete after the words of one command
// (name "" for pave itself).
type completion struct {
	name string
	// subcommands are the words that may follow, with their summaries.
	subcommands []completionWord
	flags       []completionWord
}

// completionWord is a word to complete and what it means.
type completionWord struct{ word, summary string }

// completions lists what may follow pave and each of its commands, from
// the command table: its groups' subcommands, and the flags each
// command's help lists.
func completions(ctx context.Context) []completion {
	var out []completion
	var walk func(name string, cmds []*command)
	walk = func(name string, cmds []*command) {
		c := completion{name: name, flags: commandFlags(ctx, name)}
		for _, sub := range cmds {
			word := strings.TrimPrefix(sub.name, name+" ")
			c.subcommands = append(c.subcommands, completionWord{word, sub.summary})
		}
		out = append(out, c)
		for _, sub := range cmds {
			if sub.subcommands != nil {
				walk(sub.name, sub.subcommands)
			} else {
				out = append(out, completion{name: sub.name, flags: commandFlags(ctx, sub.name)})
			}
		}
	}
	walk("", commands)
	return out
}

// flagLine matches the line of a flag in a command's help, as the flag
// package prints it, with its usage: after a tab on the same line (a
// boolean flag of one letter) or on the next line.
var flagLine = regexp.MustCompile(`(?m)^  -([a-zA-Z0-9][a-z0-9-]*)[^\n\t]*(?:\t([^\n]*))?\n(?:    \t([^\n]*))?`)

// commandFlags returns the flags of the command name as its help lists
// them ('pave --help' for name ""), and help; up also takes serve's.
func commandFlags(ctx context.Context, name string) []completionWord {
	var help strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &help, stderr: io.Discard, getenv: func(string) string { return "" }}
	_ = e.dispatch(ctx, append(strings.Fields(name), "--help"))
	var flags []completionWord
	for _, m := range flagLine.FindAllStringSubmatch(help.String(), -1) {
		usage := m[2] + m[3]
		// A deprecated flag still works, but is not offered.
		if !strings.Contains(usage, "(deprecated)") {
			flags = append(flags, completionWord{m[1], usage})
		}
	}
	switch name {
	case "":
		flags = append(flags, completionWord{"version", "print pave's version"})
	case "up":
		flags = append(flags, commandFlags(ctx, "serve")...)
	}
	flags = append(flags, completionWord{"help", "print the help"})
	slices.SortFunc(flags, func(a, b completionWord) int { return strings.Compare(a.word, b.word) })
	return slices.CompactFunc(flags, func(a, b completionWord) bool { return a.word == b.word })
}

// words returns the words of ws, separated by spaces.
func words(ws []completionWord) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.word
	}
	return strings.Join(out, " ")
}

// flagWords returns the flags of ws as typed, separated by spaces: "-i"
// for a flag of one letter, "--data" for a longer one.
func flagWords(ws []completionWord) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = flagDashes(w.word) + w.word
	}
	return strings.Join(out, " ")
}

func flagDashes(flag string) string {
	if len(flag) == 1 {
		return "-"
	}
	return "--"
}

// writeCases writes the case statement, valid in bash and zsh, that the
// function fn uses to print the subcommands (flags false) or flags of
// the command named by its argument.
func writeCases(w io.Writer, fn string, cs []completion, flags bool) {
	fmt.Fprintf(w, "%s() {\n  case \"$1\" in\n", fn)
	for _, c := range cs {
		list := words(c.subcommands)
		if flags {
			list = flagWords(c.flags)
		}
		if list != "" {
			fmt.Fprintf(w, "    %s) echo %s ;;\n", shellQuote(c.name), shellQuote(list))
		}
	}
	fmt.Fprint(w, "  esac\n}\n")
}

// completionHeader opens every script.
const completionHeader = "# %s completion for pave, made by 'pave completion %s'.\n"

// Both the bash and the zsh scripts find the command being completed the
// same way: the words so far that extend a known command.

func writeBashCompletion(w io.Writer, cs []completion) error {
	fmt.Fprintf(w, completionHeader, "bash", "bash")
	writeCases(w, "_pave_subcommands", cs, false)
	writeCases(w, "_pave_flags", cs, true)
	_, err := io.WriteString(w, `_pave() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i w subs
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    subs=" $(_pave_subcommands "$cmd") "
    if [[ $w != -* && $subs == *" $w "* ]]; then
      cmd=${cmd:+$cmd }$w
    fi
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_pave_flags "$cmd")" -- "$cur"))
    return
  fi
  subs=$(_pave_subcommands "$cmd")
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=()
  fi
}
complete -o default -F _pave pave
`)
	return err
}

func writeZshCompletion(w io.Writer, cs []completion) error {
	fmt.Fprint(w, "#compdef pave\n")
	fmt.Fprintf(w, completionHeader, "zsh", "zsh")
	writeCases(w, "_pave_subcommands", cs, false)
	writeCases(w, "_pave_flags", cs, true)
	_, err := io.WriteString(w, `_pave() {
  local cmd="" w i
  local -a subs
  for ((i = 2; i < CURRENT; i++)); do
    w=${words[i]}
    subs=(${=$(_pave_subcommands "$cmd")})
    if [[ $w != -* && ${subs[(Ie)$w]} -gt 0 ]]; then
      cmd=${cmd:+$cmd }$w
    fi
  done
  if [[ ${words[CURRENT]} == -* ]]; then
    compadd -- ${=$(_pave_flags "$cmd")}
    return
  fi
  subs=(${=$(_pave_subcommands "$cmd")})
  if (( $#subs )); then
    compadd -- $subs
  else
    _files
  fi
}
compdef _pave pave
`)
	return err
}

func writeFishCompletion(w io.Writer, cs []completion) error {
	fmt.Fprintf(w, completionHeader, "fish", "fish")
	fmt.Fprint(w, "function __pave_subcommands\n    switch \"$argv[1]\"\n")
	for _, c := range cs {
		if len(c.subcommands) > 0 {
			fmt.Fprintf(w, "        case %s\n            echo %s\n", fishQuote(c.name), fishQuote(words(c.subcommands)))
		}
	}
	fmt.Fprint(w, `    end
end
function __pave_command
    set -l cmd ""
    for w in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $w; and contains -- $w (string split ' ' -- (__pave_subcommands $cmd))
            set cmd (string trim -- "$cmd $w")
        end
    end
    echo $cmd
end
function __pave_is
    set -l cmd (__pave_command)
    test "$cmd" = "$argv[1]"
end
`)
	for _, c := range cs {
		cond := fishQuote("__pave_is " + fishQuote(c.name))
		for _, s := range c.subcommands {
			fmt.Fprintf(w, "complete -c pave -f -n %s -a %s -d %s\n", cond, fishQuote(s.word), fishQuote(s.summary))
		}
		for _, f := range c.flags {
			// fish's -s is a flag of one letter, -l a longer one; both as
			// the flag package reads them.
			kind := "-l"
			if len(f.word) == 1 {
				kind = "-s"
			}
			fmt.Fprintf(w, "complete -c pave -n %s %s %s -d %s\n", cond, kind, fishQuote(f.word), fishQuote(f.summary))
		}
	}
	return nil
}

// fishQuote quotes s for fish, in which only \ and ' are special between
// single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
