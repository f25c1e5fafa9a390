//go:build pave_kv

package main

import (
	"os"
	"slices"
	"testing"
)

// TestKVDeclarationsMatchTheEngine checks pave.d.ts's KVBucket against a
// bucket of an engine built with kv: the same methods, no more.
func TestKVDeclarationsMatchTheEngine(t *testing.T) {
	src, err := os.ReadFile("pave.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	declared := sorted(parseDeclarations(t, string(src)).interfaces["KVBucket"])
	e, err := newEngine("var " + bundleGlobal + " = {default: {fetch() {}}};")
	if err != nil {
		t.Fatal(err)
	}
	must(e.vm.Set("__env", e.env))
	v, err := e.vm.RunString(`Object.getOwnPropertyNames(__env.kv("b")).filter(k => typeof __env.kv("b")[k] === "function").sort()`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	must(e.vm.ExportTo(v, &got))
	if !slices.Equal(got, slices.Compact(declared)) {
		t.Errorf("a bucket has the methods %v, pave.d.ts declares %v", got, declared)
	}
}
