package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// declarations is what pave.d.ts declares at its top level.
type declarations struct {
	classes    map[string]*class   // declare class Name { ... }
	interfaces map[string][]string // interface Name { ... }: its members
	vars       map[string]string   // declare var name: Interface;
	funcs      []string            // declare function name(...)
	lines      map[string]int      // the line of each top-level name
}

// class is a declared class's members.
type class struct{ static, instance []string }

var (
	classStart     = regexp.MustCompile(`^declare class (\w+) \{$`)
	interfaceStart = regexp.MustCompile(`^interface (\w+) \{$`)
	varDecl        = regexp.MustCompile(`^declare var (\w+): (\w+);$`)
	funcDecl       = regexp.MustCompile(`^declare function (\w+)[(<]`)
	// A member is on a line indented by two spaces: a method, a getter,
	// a property or a symbol-named method, possibly static.
	memberDecl = regexp.MustCompile(`^  (static )?(?:readonly )?(?:get )?(\[Symbol\.\w+\]|[A-Za-z_$][\w$]*)\??[(:<]`)
)

// parseDeclarations reads the top level of a .d.ts written as pave.d.ts
// is: blocks open at the start of a line and close with a line "}", and
// their members are indented by two spaces.
func parseDeclarations(t *testing.T, src string) *declarations {
	t.Helper()
	d := &declarations{classes: map[string]*class{}, interfaces: map[string][]string{}, vars: map[string]string{}, lines: map[string]int{}}
	var (
		inClass     *class
		inInterface string
	)
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		switch {
		case line == "}":
			inClass, inInterface = nil, ""
		case inClass != nil || inInterface != "":
			m := memberDecl.FindStringSubmatch(line)
			trimmed := strings.TrimSpace(line)
			if m == nil {
				if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") &&
					!strings.HasPrefix(trimmed, "/*") && !strings.HasPrefix(trimmed, "*") && !strings.HasPrefix(trimmed, "//") {
					t.Errorf("pave.d.ts:%d: a member this test cannot read: %s", n, line)
				}
				continue
			}
			name := m[2]
			switch {
			case inInterface != "":
				d.interfaces[inInterface] = append(d.interfaces[inInterface], name)
			case name == "constructor":
			case m[1] != "":
				inClass.static = append(inClass.static, name)
			default:
				inClass.instance = append(inClass.instance, name)
			}
		default:
			if m := classStart.FindStringSubmatch(line); m != nil {
				inClass = &class{}
				d.classes[m[1]] = inClass
				d.lines[m[1]] = n
			} else if m := interfaceStart.FindStringSubmatch(line); m != nil {
				inInterface = m[1]
				d.interfaces[m[1]] = nil
				d.lines[m[1]] = n
			} else if m := varDecl.FindStringSubmatch(line); m != nil {
				d.vars[m[1]] = m[2]
				d.lines[m[1]] = n
			} else if m := funcDecl.FindStringSubmatch(line); m != nil {
				if !slices.Contains(d.funcs, m[1]) {
					d.funcs = append(d.funcs, m[1])
				}
				d.lines[m[1]] = n
			} else if strings.HasPrefix(line, "declare ") {
				t.Errorf("pave.d.ts:%d: a declaration this test cannot read: %s", n, line)
			}
		}
	}
	return d
}

// instances are expressions for an instance of each class the engine
// defines, on which the declared instance members are looked for.
var instances = map[string]string{
	"Request":         `new Request("https://a.example/")`,
	"Response":        `new Response()`,
	"Headers":         `new Headers()`,
	"URL":             `new URL("https://a.example/")`,
	"URLSearchParams": `new URLSearchParams()`,
	"TextEncoder":     `new TextEncoder()`,
	"TextDecoder":     `new TextDecoder()`,
}

// argumentShapes are interfaces that describe values a function is given
// or returns, not objects of the engine: nothing to look for.
var argumentShapes = []string{"Handler", "RequestInit", "ResponseInit", "CloudEvent", "KVEntry", "CapabilityError", "CryptoKey",
	"CryptoKeyPair", "HmacKeyAlgorithm", "EcKeyAlgorithm", "RsaHashedKeyAlgorithm", "JsonWebKey"}

// bindings are the interfaces checked against an object of the engine
// other than a global: Env against the env given to fetch; KVBucket
// against a bucket, in engines built with pave_kv (types_kv_test.go);
// SubtleCrypto against crypto.subtle.
var bindings = []string{"Env", "KVBucket", "SubtleCrypto"}

// TestDeclarationsMatchTheEngine keeps pave.d.ts in step with the engine:
// every class, member, global and function it declares exists in the
// engine, and every global the prelude adds, and every public method or
// static of its classes, is declared.
func TestDeclarationsMatchTheEngine(t *testing.T) {
	src, err := os.ReadFile("pave.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	d := parseDeclarations(t, string(src))
	e, err := newEngine("var " + bundleGlobal + " = {default: {fetch() {}}};")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm
	must(vm.Set("__env", e.env))
	eval := func(expr string) goja.Value {
		t.Helper()
		v, err := vm.RunString(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	has := func(obj, member string) bool {
		key := `"` + member + `"`
		if strings.HasPrefix(member, "[Symbol.") {
			key = strings.Trim(member, "[]")
		}
		return eval("(" + key + ") in (" + obj + ")").ToBoolean()
	}
	names := func(expr string) []string {
		var out []string
		must(vm.ExportTo(eval(expr), &out))
		return out
	}

	// What is declared exists.
	for name, c := range d.classes {
		if eval("typeof globalThis."+name).String() != "function" {
			t.Errorf("pave.d.ts:%d declares class %s, which the engine lacks", d.lines[name], name)
			continue
		}
		inst, ok := instances[name]
		if !ok {
			t.Errorf("pave.d.ts:%d: class %s has no instance expression in this test", d.lines[name], name)
			continue
		}
		for _, m := range c.static {
			if !has(name, m) {
				t.Errorf("pave.d.ts declares %s.%s, which the engine lacks", name, m)
			}
		}
		for _, m := range c.instance {
			if !has(inst, m) {
				t.Errorf("pave.d.ts declares %s's %s, which the engine lacks", name, m)
			}
		}
	}
	for name, iface := range d.vars {
		members, ok := d.interfaces[iface]
		if !ok {
			t.Errorf("pave.d.ts:%d: var %s has the type %s, which is not an interface it declares", d.lines[name], name, iface)
		}
		if eval("typeof globalThis."+name).String() != "object" {
			t.Errorf("pave.d.ts:%d declares var %s, which the engine lacks", d.lines[name], name)
			continue
		}
		for _, m := range members {
			if !has(name, m) {
				t.Errorf("pave.d.ts declares %s.%s, which the engine lacks", name, m)
			}
		}
		if got, want := names("Object.getOwnPropertyNames("+name+").sort()"), sorted(members); !slices.Equal(got, want) {
			t.Errorf("the engine's %s has %v, pave.d.ts declares %v", name, got, want)
		}
	}
	for _, name := range d.funcs {
		if eval("typeof globalThis."+name).String() != "function" {
			t.Errorf("pave.d.ts:%d declares function %s, which the engine lacks", d.lines[name], name)
		}
	}
	for _, m := range d.interfaces["Env"] {
		if !has("__env", m) {
			t.Errorf("pave.d.ts declares Env.%s, which the engine's env lacks", m)
		}
	}
	if got, want := names("Object.getOwnPropertyNames(crypto.subtle).sort()"), sorted(d.interfaces["SubtleCrypto"]); !slices.Equal(got, want) {
		t.Errorf("the engine's crypto.subtle has %v, pave.d.ts declares %v", got, want)
	}
	for name := range d.interfaces {
		bound := slices.Contains(argumentShapes, name) || slices.Contains(bindings, name)
		for _, iface := range d.vars {
			bound = bound || iface == name
		}
		if !bound {
			t.Errorf("pave.d.ts:%d: interface %s is neither a global's type nor listed in this test", d.lines[name], name)
		}
	}

	// What the engine adds is declared.
	if got, want := names("Object.getOwnPropertyNames(__env).sort()"), sorted(d.interfaces["Env"]); !slices.Equal(got, want) {
		t.Errorf("the engine's env has %v, pave.d.ts declares %v", got, want)
	}
	plain := goja.New()
	baseline, err := plain.RunString("Object.getOwnPropertyNames(globalThis)")
	if err != nil {
		t.Fatal(err)
	}
	var standard []string
	must(plain.ExportTo(baseline, &standard))
	for _, name := range names("Object.getOwnPropertyNames(globalThis).sort()") {
		if slices.Contains(standard, name) || name == bundleGlobal || name == "__env" {
			continue
		}
		if _, ok := d.lines[name]; !ok {
			t.Errorf("the engine defines the global %s, which pave.d.ts does not declare", name)
		}
	}
	for name, c := range d.classes {
		inst, ok := instances[name]
		if !ok {
			continue
		}
		// The public properties of an instance and the public methods and
		// accessors of its prototype chain, up to Object.prototype.
		public := names(`(() => {
			const out = new Set();
			for (let p = ` + inst + `; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
				for (const k of Object.getOwnPropertyNames(p)) if (k !== "constructor" && !k.startsWith("_")) out.add(k);
			}
			return [...out].sort();
		})()`)
		for _, m := range public {
			if !slices.Contains(c.instance, m) {
				t.Errorf("the engine's %s has %s, which pave.d.ts does not declare", name, m)
			}
		}
		statics := names(`Object.getOwnPropertyNames(` + name + `).filter(k => !["length", "name", "prototype"].includes(k)).sort()`)
		if want := sorted(c.static); !slices.Equal(statics, want) {
			t.Errorf("the engine's %s has the statics %v, pave.d.ts declares %v", name, statics, want)
		}
	}
}

// sorted returns the names in s sorted, each once: a method declared
// with overloads is one member.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
