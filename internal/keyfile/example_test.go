package keyfile_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pave-dev/pave/internal/keyfile"
)

func ExampleLoadOrCreate() {
	dir, err := os.MkdirTemp("", "keyfile-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sealing.key")
	newKey := func() ([]byte, error) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(raw)), nil
	}
	first, created, err := keyfile.LoadOrCreate(path, "sealing key file", newKey)
	fmt.Println(len(first), created, err)
	again, created, err := keyfile.LoadOrCreate(path, "sealing key file", newKey)
	fmt.Println(string(again) == string(first), created, err)
	// Output:
	// 44 true <nil>
	// true false <nil>
}
