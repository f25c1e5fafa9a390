package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

func ExampleStore() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pave-example")
	defer os.RemoveAll(dir)

	// The master key lives outside the store, in an owner-only file.
	master, created, err := secrets.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new master key:", created)

	// records is the JetStream key-value bucket in the daemon; an
	// in-memory one here.
	s := secrets.NewStore(newMemRecords(), master, nil)

	v1, _ := s.Set(ctx, "db.password", secret.Value("correct horse"))
	v2, _ := s.Set(ctx, "db.password", secret.Value("battery staple"))
	fmt.Println("versions:", v1, v2)

	latest, n, _ := s.Get(ctx, "db.password", 0)
	fmt.Println("latest is version", n, "and prints as", latest)
	old, _, _ := s.Get(ctx, "db.password", 1)
	fmt.Println("version 1 is", old.Reveal())

	_, _, err = s.Get(ctx, "db.pasword", 0)
	fmt.Println("typo:", errors.Is(err, secrets.ErrNotFound))

	// A function's output, with the value it was given.
	r := secrets.NewRedactor([]secret.Value{latest})
	fmt.Println(r.String("connecting with battery staple"))
	// Output:
	// new master key: true
	// versions: 1 2
	// latest is version 2 and prints as [REDACTED]
	// version 1 is correct horse
	// typo: true
	// connecting with [REDACTED]
}
