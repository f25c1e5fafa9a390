package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// TestBlobsListDeleteForGC covers what garbage collection relies on: List
// names every stored blob with its size and a storage time, and Delete
// removes one for good.
func TestBlobsListDeleteForGC(t *testing.T) {
	ctx := context.Background()
	b := blobs(t, openCleanup(t), "gc")

	if got, err := b.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List of an empty store = %v, %v", got, err)
	}
	if err := b.Delete(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of a missing blob: %v, want ErrNotFound", err)
	}

	before := time.Now().Add(-time.Minute)
	big := bytes.Repeat([]byte("x"), 300<<10) // several chunks
	stored := map[string][]byte{"b": []byte("bee"), "a": big, "c": {}}
	for name, data := range stored {
		if err := b.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().Add(time.Minute)

	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "c" {
		t.Fatalf("List = %+v, want a, b, c in order", got)
	}
	for _, info := range got {
		if info.Size != int64(len(stored[info.Name])) {
			t.Errorf("%s: size %d, want %d", info.Name, info.Size, len(stored[info.Name]))
		}
		if info.ModTime.Before(before) || info.ModTime.After(after) {
			t.Errorf("%s: modification time %v is not when it was stored", info.Name, info.ModTime)
		}
	}

	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Has(ctx, "a"); err != nil || ok {
		t.Fatalf("Has after Delete = %v, %v", ok, err)
	}
	if _, err := b.Get(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	got, err = b.List(ctx)
	if err != nil || len(got) != 2 || got[0].Name != "b" || got[1].Name != "c" {
		t.Fatalf("List after Delete = %+v, %v; want b, c", got, err)
	}

	// A deleted name can be stored again.
	if err := b.Put(ctx, "a", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if data, err := b.Get(ctx, "a"); err != nil || string(data) != "again" {
		t.Fatalf("Get after storing again = %q, %v", data, err)
	}

	// Deleting everything leaves an empty listing, not an error.
	for _, name := range []string{"a", "b", "c"} {
		if err := b.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List after deleting all = %+v, %v", got, err)
	}
}

// TestBlobsListWhileReplaced lists and deletes, as garbage collection does,
// while two writers store the same few blobs again and again, each round in
// a fresh bucket: every listing must finish, and must contain the blob
// nobody touches. (The object store's own listing, which List used to call,
// could wait forever in this situation.)
func TestBlobsListWhileReplaced(t *testing.T) {
	ctx := context.Background()
	n := openCleanup(t)
	for round := 0; round < 20; round++ {
		b := blobs(t, n, fmt.Sprintf("churn%d", round))
		if err := b.Put(ctx, "stable", []byte("kept")); err != nil {
			t.Fatal(err)
		}
		var writers sync.WaitGroup
		errs := make(chan error, 2)
		for w := 0; w < 2; w++ {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := 0; i < 10; i++ {
					name := fmt.Sprintf("churn-%d", i%3)
					if err := b.Put(ctx, name, []byte(name)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { writers.Wait(); close(done) }()
		for listing := 0; ; listing++ {
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, err := b.List(lctx)
			cancel()
			if err != nil {
				t.Fatalf("round %d, listing %d: %v", round, listing, err)
			}
			found := false
			for _, info := range got {
				switch {
				case info.Name == "stable":
					found = true
				case !strings.HasPrefix(info.Name, "churn-"):
					t.Fatalf("listing names %q, which was never stored", info.Name)
				default:
					if err := b.Delete(ctx, info.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("delete %s: %v", info.Name, err)
					}
				}
			}
			if !found {
				t.Fatalf("round %d, listing %d = %+v, without the untouched blob", round, listing, got)
			}
			select {
			case <-done:
			default:
				continue
			}
			break
		}
		close(errs)
		for err := range errs {
			t.Fatalf("store: %v", err)
		}
	}
}
