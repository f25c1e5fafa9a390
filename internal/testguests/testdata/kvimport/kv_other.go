//go:build !wasip1

package main

// kvGet stands in for the host import when the guest is built natively.
func kvGet(string) int32 { return -1 }
