// Package pave holds, for pave new, the sources a function needs from this
// repository: the Go SDK with the ABI package it imports, and the
// TypeScript declarations of the JavaScript API. They are embedded in the
// pave binary, so a project pave new writes gets the very version the
// daemon that built it speaks, and builds offline (see docs/RATIONALE.md).
package pave

import "embed"

// Sources holds go.mod (for its go line), the packages abi and sdk (test
// files included; pave new leaves them out) and runtime/js/pave.d.ts.
//
//go:embed go.mod abi sdk runtime/js/pave.d.ts
var Sources embed.FS
