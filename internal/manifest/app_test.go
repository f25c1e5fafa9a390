package manifest

import (
	"strings"
	"testing"
	"time"
)

const appExample = `name: shop
functions:
  - functions/orders
  - notes
keys:
  ci:
    functions: [orders, notes]
    scopes: [orders:write]
    networks: [10.1.2.3/8]
    expires: 720h
  partner:
    functions: [orders]
budgets:
  orders: {window: day, invocations: 1000}
  owner:payments: {window: month, compute: 3600}
environments:
  prod:
    secrets: [DB_URL, WEBHOOK_TOKEN]
  staging: {}
issuers:
  - issuer: https://auth.example/
    audiences: [pave]
    algorithms: [RS256]
`

func TestParseApp(t *testing.T) {
	a, err := ParseApp(AppFileName, []byte(appExample))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "shop" || strings.Join(a.Functions, ",") != "functions/orders,notes" {
		t.Errorf("name %q functions %q", a.Name, a.Functions)
	}
	if len(a.Keys) != 2 || a.Keys[0].Name != "ci" || a.Keys[1].Name != "partner" {
		t.Fatalf("keys %+v", a.Keys)
	}
	ci := a.Keys[0]
	if strings.Join(ci.Functions, ",") != "orders,notes" || ci.Scopes[0] != "orders:write" || ci.Networks[0] != "10.0.0.0/8" || ci.Expires != 720*time.Hour || ci.Line != 7 {
		t.Errorf("key ci %+v", ci)
	}
	if len(a.Budgets) != 2 || a.Budgets[0].Subject != "function:orders" || a.Budgets[0].Budget.Invocations != 1000 ||
		a.Budgets[1].Subject != "owner:payments" || a.Budgets[1].Budget.ComputeGBs != 3600 || a.Budgets[1].Budget.Window != "month" {
		t.Errorf("budgets %+v", a.Budgets)
	}
	prod, ok := a.Environment("prod")
	if !ok || strings.Join(prod.Secrets, ",") != "DB_URL,WEBHOOK_TOKEN" {
		t.Errorf("prod %+v", prod)
	}
	if st, ok := a.Environment("staging"); !ok || len(st.Secrets) != 0 {
		t.Errorf("staging %+v", st)
	}
	if len(a.Issuers) != 1 || a.Issuers[0].Issuer != "https://auth.example/" || a.Issuers[0].Audiences[0] != "pave" {
		t.Errorf("issuers %+v", a.Issuers)
	}
	if got := a.Line("keys.partner"); got != 11 {
		t.Errorf("line of keys.partner = %d", got)
	}
}

func TestParseAppErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", "", "is empty"},
		{"no name", "functions: [a]\n", `missing required field "name"`},
		{"unknown field", "name: a\npolicy: x\n", `pave.app.yaml:2:1: unknown field "policy"`},
		{"misspelt", "name: a\nfunctons: [a]\n", `did you mean "functions"?`},
		{"key without functions", "name: a\nkeys:\n  ci: {scopes: [x]}\n", `3:7: keys.ci: missing required field "functions"`},
		{"key with no function", "name: a\nkeys:\n  ci: {functions: []}\n", "name at least one function"},
		{"key value", "name: a\nkeys:\n  ci: {functions: [a], secret: pave_k_x}\n", `unknown field "secret"`},
		{"bad key name", "name: a\nkeys:\n  CI: {functions: [a]}\n", `keys.CI: invalid key name`},
		{"duplicate key", "name: a\nkeys:\n  ci: {functions: [a]}\n  ci: {functions: [b]}\n", `4:3: keys.ci: "ci" is already declared on line 3`},
		{"bad network", "name: a\nkeys:\n  ci: {functions: [a], networks: [10.0.0.0]}\n", "invalid network"},
		{"expiry without unit", "name: a\nkeys:\n  ci: {functions: [a], expires: 30}\n", "has no unit"},
		{"escaping directory", "name: a\nfunctions: [../other]\n", "invalid function directory"},
		{"absolute directory", "name: a\nfunctions: [/srv/fn]\n", "invalid function directory"},
		{"duplicate directory", "name: a\nfunctions: [a, a]\n", "listed twice"},
		{"budget no cap", "name: a\nbudgets:\n  orders: {window: day}\n", "caps at least one"},
		{"budget subject", "name: a\nbudgets:\n  team:x: {invocations: 1}\n", "invalid budget subject"},
		{"budget twice", "name: a\nbudgets:\n  orders: {invocations: 1}\n  function:orders: {invocations: 2}\n", "budget of function:orders is already declared on line 3"},
		{"secret name", "name: a\nenvironments:\n  prod: {secrets: [1X]}\n", "invalid secret name"},
		{"issuer audiences", "name: a\nissuers:\n  - issuer: https://i/\n", `missing required field "audiences"`},
		{"issuer twice", "name: a\nissuers:\n  - {issuer: https://i/, audiences: [p]}\n  - {issuer: https://i/, audiences: [q]}\n", "already declared"},
		{"alias", "name: a\nkeys:\n  ci: &k {functions: [a]}\n  cd: *k\n", "anchors"},
		{"two documents", "name: a\n---\nname: b\n", "single YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseApp(AppFileName, []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// FuzzParseApp checks that ParseApp never panics and that what it accepts
// keeps the promises restated here.
func FuzzParseApp(f *testing.F) {
	f.Add(appExample)
	f.Add("name: a\n")
	f.Add("name: a\nkeys: {k: {functions: [x]}}\nbudgets: {owner:o: {invocations: 1}}\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseApp(AppFileName, []byte(text))
		if err != nil {
			if a != nil {
				t.Fatal("an app with an error")
			}
			return
		}
		if !fuzzName.MatchString(a.Name) {
			t.Fatalf("name %q accepted", a.Name)
		}
		for _, dir := range a.Functions {
			if dir == "" || strings.HasPrefix(dir, "/") || strings.HasPrefix(dir, "../") || dir == ".." {
				t.Fatalf("directory %q accepted", dir)
			}
		}
		seen := map[string]bool{}
		for _, k := range a.Keys {
			if seen[k.Name] || len(k.Functions) == 0 || k.Expires < 0 {
				t.Fatalf("key %+v accepted", k)
			}
			seen[k.Name] = true
			for _, fn := range k.Functions {
				if !fuzzName.MatchString(fn) {
					t.Fatalf("key function %q accepted", fn)
				}
			}
		}
		subjects := map[string]bool{}
		for _, b := range a.Budgets {
			if subjects[b.Subject] || !(strings.HasPrefix(b.Subject, "function:") || strings.HasPrefix(b.Subject, "owner:")) {
				t.Fatalf("budget %+v accepted", b)
			}
			subjects[b.Subject] = true
			if b.Budget.Invocations == 0 && b.Budget.ComputeGBs == 0 && b.Budget.RequestBytes == 0 {
				t.Fatalf("budget %+v without a cap accepted", b)
			}
		}
		for _, e := range a.Environments {
			for _, s := range e.Secrets {
				if !fuzzSecret.MatchString(s) {
					t.Fatalf("secret %q accepted", s)
				}
			}
		}
	})
}
