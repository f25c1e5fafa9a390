package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/pave-dev/pave/internal/scaffold"
	"github.com/pave-dev/pave/internal/version"
)

var newCommand = &command{
	name:    "new",
	args:    "NAME",
	summary: "start a function from a template, with its test and CI",
	help: `
Writes a new function, NAME, into the directory --dir (default: NAME), which
must not exist or be empty: pave new never overwrites a file. The function
deploys and passes its own test as it is written:

  pave.yaml        an owner, an input contract (a JSON Schema) where the
                   template takes input, a rate limit, limits, and no grants
  the handler      and its test: go test for Go, pave test and the cases in
                   pave.test.yaml for the other languages
  .gitignore, CODEOWNERS (the owner reviews every change), README.md
  CI               .github/workflows/pave.yml and .gitlab-ci.yml: build,
                   test, and pave posture --offline . --format sarif
                   --fail-on high, keeping the SARIF report

--lang is go (default), js, ts, c or rust. A Go project holds a copy of
this pave's SDK in pave-sdk/, which its go.mod uses, so it builds offline; a
C or Rust project is built by its Makefile (clang and wasi-libc, or rustc
for wasm32-wasi).

--template is http (default: POST /NAME with a JSON body), webhook (a
GitHub webhook at POST /NAME/webhook, whose secret file --secret-file
names on the daemon's machine), topic (the events published to NAME.events)
or schedule (every hour). --owner is the team that owns it (default: $USER).`,
	run: runNew,
}

func runNew(_ context.Context, inv *invocation, args []string) error {
	lang := inv.fs.String("lang", "go", "the language: "+strings.Join(scaffold.Langs, ", "))
	tmpl := inv.fs.String("template", "http", "what starts the function: "+strings.Join(scaffold.Templates, ", "))
	owner := inv.fs.String("owner", "", "the `TEAM` that owns the function (default: $USER)")
	dir := inv.fs.String("dir", "", "the `DIR` to write the project into (default: NAME)")
	secretFile := inv.fs.String("secret-file", "", "with --template webhook: the webhook secret's `FILE` on the daemon's machine (default: /etc/pave/NAME.webhook.secret)")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	o := scaffold.Options{Name: pos[0], Lang: *lang, Template: *tmpl, Owner: *owner, SecretFile: *secretFile, PaveVersion: version.String()}
	if o.Owner == "" {
		o.Owner = inv.getenv("USER")
	}
	if *secretFile != "" && o.Template != "webhook" {
		return inv.usageErrorf("--secret-file goes with --template webhook")
	}
	if *dir == "" {
		*dir = o.Name
	}
	files, err := scaffold.Write(*dir, o)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !strings.HasPrefix(f, scaffold.SDKDir+"/") {
			fmt.Fprintf(inv.stdout, "%s\n", f)
		}
	}
	fmt.Fprintf(inv.stderr, "wrote %s, a %s function (%s template), into %s; next: %s\n", o.Name, o.Lang, o.Template, *dir, next(o.Lang, *dir))
	return nil
}

// next is the command that tests a new project.
func next(lang, dir string) string {
	switch lang {
	case "go":
		return "cd " + dir + " && go test ./..."
	case "c", "rust":
		return "cd " + dir + " && make && pave test"
	}
	return "pave test " + dir
}
