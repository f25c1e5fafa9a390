//go:build !pave_kv

package main

import (
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

func TestKVNotGranted(t *testing.T) {
	load(t, `exports.default = { fetch(request, env) {
		try { env.kv("orders"); return new Response("granted") } catch (e) { return new Response(e.name + ": " + e.message) }
	} };`)
	resp, err := pave.Call(nil)
	if want := "TypeError: env.kv: the manifest grants no kv capability"; err != nil || string(resp.Body) != want {
		t.Errorf("= %v, %v; want %q", resp, err, want)
	}
}
