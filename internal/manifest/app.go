package manifest

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pave-dev/pave/internal/apikey"
	"github.com/pave-dev/pave/internal/limits"
)

// AppFileName is the usual name of an app file.
const AppFileName = "pave.app.yaml"

// App is an app file: the whole of what an organisation runs on one
// daemon, declared in one place. It names the directories of its
// functions (each holds a pave.yaml), the API keys by name (never their
// values), the budgets the operator overrides, the secrets each
// environment must hold (by name), the JWT issuers the daemon must
// trust and the organisation's policies. pave plan, apply and drift compare it with a running daemon.
type App struct {
	Name string
	// Functions are the directories of the functions, relative to the app
	// file's directory, with slashes.
	Functions []string
	Keys      []AppKey
	Budgets   []AppBudget
	// Environments are the environments by name, in the file's order.
	Environments []AppEnvironment
	Issuers      []AppIssuer
	// Policies are the organisation's rules (package policy); the set the
	// daemon checks deploys against is the file's when it declares one
	// (PoliciesDeclared), even an empty one.
	Policies         []PolicyRule
	PoliciesDeclared bool

	File  string
	lines map[string]int
}

// AppKey is an API key as an app file declares it.
type AppKey struct {
	Name      string
	Functions []string
	Scopes    []string
	// Networks are the source networks in canonical CIDR form; none means
	// any.
	Networks []string
	// Expires is how long after its creation the key expires; 0: never.
	Expires time.Duration
	Line    int
}

// AppBudget is an operator's budget override as an app file declares it.
type AppBudget struct {
	// Subject is "function:NAME" or "owner:NAME"; a bare NAME in the file
	// is a function's.
	Subject string
	Budget  limits.Budget
	Line    int
}

// AppEnvironment is what one environment must hold.
type AppEnvironment struct {
	Name    string
	Secrets []string
	Line    int
}

// AppIssuer is a JWT issuer the daemon must trust.
type AppIssuer struct {
	Issuer     string
	Audiences  []string
	Algorithms []string
	Line       int
}

// Limits of an app file.
const (
	maxAppFunctions = 256
	maxAppKeys      = 256
	maxAppBudgets   = 512
	maxAppEnvs      = 32
	maxAppSecrets   = 256
	maxAppIssuers   = 32
	// maxKeyExpiry is the longest expiry a key may be declared with.
	maxKeyExpiry = 10 * 366 * 24 * time.Hour
)

// Line returns the line of the field or list entry at path
// ("keys.ci.functions[1]"), or 0 if it is not in the file.
func (a *App) Line(path string) int { return a.lines[path] }

// Environment returns the environment named name.
func (a *App) Environment(name string) (*AppEnvironment, bool) {
	i := slices.IndexFunc(a.Environments, func(e AppEnvironment) bool { return e.Name == name })
	if i < 0 {
		return nil, false
	}
	return &a.Environments[i], true
}

// ParseApp parses and validates the app file in data. Like Parse, it
// reports every problem found, each with its line and field, and refuses
// unknown fields, anchors and aliases.
func ParseApp(file string, data []byte) (*App, error) {
	d := &decoder{file: file}
	var a *App
	if root := d.document(data); root != nil {
		a = d.app(root)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	a.lines = d.lines
	return a, nil
}

// ReadAppFile reads the app file at path, at most MaxFileSize bytes and
// one more, for ParseApp to refuse.
func ReadAppFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// app decodes the root of an app file.
func (d *decoder) app(n *yaml.Node) *App {
	a := &App{File: d.file}
	d.object(n, "", []field{
		{name: "name", required: true, decode: d.text(&a.Name, checkName)},
		{name: "functions", decode: d.stringList(&a.Functions, maxAppFunctions, checkFunctionDir)},
		{name: "keys", decode: d.named(maxAppKeys, "keys", checkKeyName, func(v *yaml.Node, at, name string) {
			a.Keys = append(a.Keys, d.appKey(v, at, name))
		})},
		{name: "budgets", decode: d.named(maxAppBudgets, "budgets", checkBudgetSubject, func(v *yaml.Node, at, name string) {
			var b *limits.Budget
			d.budget(&b)(v, at)
			if b != nil {
				a.Budgets = append(a.Budgets, AppBudget{Subject: budgetSubject(name), Budget: *b, Line: v.Line})
			}
		})},
		{name: "environments", decode: d.named(maxAppEnvs, "environments", checkName, func(v *yaml.Node, at, name string) {
			e := AppEnvironment{Name: name, Line: v.Line}
			d.object(v, at, []field{
				{name: "secrets", decode: d.stringList(&e.Secrets, maxAppSecrets, checkSecretName)},
			})
			a.Environments = append(a.Environments, e)
		})},
		{name: "policies", decode: func(v *yaml.Node, at string) {
			a.PoliciesDeclared = true
			d.policies(&a.Policies)(v, at)
		}},
		{name: "issuers", decode: uniqueList(d, &a.Issuers, listRule[AppIssuer]{
			kind:     "a list of issuers",
			max:      maxAppIssuers,
			tooMany:  "%d issuers; at most %d",
			item:     d.appIssuer,
			key:      func(i AppIssuer) string { return i.Issuer },
			describe: func(i AppIssuer) string { return i.Issuer },
			dup:      "issuer %s is already declared by %s[%d] on line %d",
		})},
	})
	// Two spellings of one budget subject ("orders", "function:orders")
	// would fight each other.
	seen := map[string]int{}
	for _, b := range a.Budgets {
		if line, dup := seen[b.Subject]; dup {
			d.errorf(&yaml.Node{Line: b.Line}, "budgets", "budget of %s is already declared on line %d", b.Subject, line)
		}
		seen[b.Subject] = b.Line
	}
	return a
}

// named returns a decodeFunc for a mapping of names, each accepted by
// check, to their declarations, decoded in the file's order by item.
func (d *decoder) named(max int, what string, check func(string) error, item func(v *yaml.Node, at, name string)) decodeFunc {
	return func(n *yaml.Node, path string) {
		if !d.kind(n, path, yaml.MappingNode, "a mapping of names to "+what) {
			return
		}
		if len(n.Content)/2 > max {
			d.errorf(n, path, "%d %s; at most %d", len(n.Content)/2, what, max)
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, ok := d.key(k, path)
			if !ok {
				continue
			}
			at := join(path, name)
			if err := check(name); err != nil {
				d.errorf(k, at, "%v", err)
				continue
			}
			if line, dup := seen[name]; dup {
				d.errorf(k, at, "%s is already declared on line %d", quote(name), line)
				continue
			}
			seen[name] = k.Line
			d.mark(at, k.Line)
			item(v, at, name)
		}
	}
}

// appKey decodes one key's declaration.
func (d *decoder) appKey(n *yaml.Node, path, name string) AppKey {
	k := AppKey{Name: name, Line: n.Line}
	d.object(n, path, []field{
		{name: "functions", required: true, decode: func(v *yaml.Node, at string) {
			d.stringList(&k.Functions, maxGrants, checkName)(v, at)
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.errorf(v, at, "name at least one function the key may call")
			}
		}},
		{name: "scopes", decode: d.stringList(&k.Scopes, maxGrants, checkScope)},
		{name: "networks", decode: d.stringList(&k.Networks, maxGrants, checkNetwork)},
		{name: "expires", decode: d.duration(&k.Expires, time.Minute, maxKeyExpiry)},
	})
	for i, c := range k.Networks {
		k.Networks[i] = netip.MustParsePrefix(c).Masked().String()
	}
	return k
}

// appIssuer decodes one issuer.
func (d *decoder) appIssuer(n *yaml.Node, path string) (AppIssuer, bool) {
	before := len(d.errs)
	is := AppIssuer{Line: n.Line}
	d.object(n, path, []field{
		{name: "issuer", required: true, decode: d.text(&is.Issuer, checkIssuer)},
		{name: "audiences", required: true, decode: d.stringList(&is.Audiences, maxGrants, checkWord)},
		{name: "algorithms", decode: d.stringList(&is.Algorithms, maxGrants, checkWord)},
	})
	return is, len(d.errs) == before
}

func checkFunctionDir(s string) error {
	clean := path.Clean(s)
	if s == "" || strings.ContainsAny(s, "\\\x00") || path.IsAbs(s) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("invalid function directory %s: give a directory below the app file's, with slashes", quote(s))
	}
	return nil
}

func checkKeyName(s string) error {
	if !apikey.ValidName(s) {
		return fmt.Errorf("invalid key name %s: use 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", quote(s))
	}
	return nil
}

func checkNetwork(s string) error {
	if _, err := netip.ParsePrefix(s); err != nil {
		return fmt.Errorf("invalid network %s: want CIDR notation such as 10.0.0.0/8", quote(s))
	}
	return nil
}

func checkWord(s string) error {
	if s == "" || len(s) > 256 || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("invalid value %s: 1 to 256 characters without spaces", quote(s))
	}
	return nil
}

// checkBudgetSubject accepts a function NAME, function:NAME or owner:NAME.
func checkBudgetSubject(s string) error {
	kind, name, found := strings.Cut(s, ":")
	switch {
	case !found:
		return checkName(s)
	case kind == "function":
		return checkName(name)
	case kind == "owner":
		return checkOwner(name)
	}
	return fmt.Errorf("invalid budget subject %s: want a function NAME, function:NAME or owner:NAME", quote(s))
}

// budgetSubject returns the admin API's spelling of a budget subject.
func budgetSubject(s string) string {
	if !strings.Contains(s, ":") {
		return "function:" + s
	}
	return s
}
