//go:build !wasip1

package kv

import "github.com/pave-dev/pave/abi"

// Stand-ins for the imports outside WebAssembly, where hostcall.Call never
// calls them.

func hostGet(string, string) int32                 { return abi.ErrCodeUnavailable }
func hostPut(string, string, []byte) int32         { return abi.ErrCodeUnavailable }
func hostCAS(string, string, []byte, uint64) int32 { return abi.ErrCodeUnavailable }
func hostDelete(string, string) int32              { return abi.ErrCodeUnavailable }
func hostList(string, string) int32                { return abi.ErrCodeUnavailable }
