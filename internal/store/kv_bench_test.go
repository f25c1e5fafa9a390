package store_test

import (
	"context"
	"testing"
)

// BenchmarkKVGet is one read of a key from a bucket of the embedded
// server, as a function's KV get and the secrets store's reads make one,
// with as many concurrent readers as GOMAXPROCS.
//
//	go test -run='^$' -bench=KVGet -benchmem ./internal/store/
func BenchmarkKVGet(b *testing.B) {
	ctx := context.Background()
	n := open(b, b.TempDir())
	bucket := kv(b, n, "bench")
	if _, err := bucket.Put(ctx, "last", []byte("upstream")); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := bucket.Get(ctx, "last"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
