package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/pave-dev/pave/client"
)

// Deploying a function takes two calls: PutBlob uploads the module (or
// finds it already stored) and returns its digest, and Deploy creates a new
// version from the manifest and that digest.
func Example() {
	// A stand-in for a daemon; a real program would take the URL and the
	// token from its configuration.
	daemon := httptest.NewServer(fakeDaemon())
	defer daemon.Close()

	ctx := context.Background()
	c := client.New(daemon.URL, "admin-token")

	module := []byte("\x00asm\x01\x00\x00\x00") // the bytes of a .wasm file
	digest, err := c.PutBlob(ctx, module)
	if err != nil {
		log.Fatal(err)
	}
	fn, err := c.Deploy(ctx, client.DeployRequest{
		Manifest:     "name: hello\nowner: team-a\nroutes:\n  - method: GET\n    path: /hello\n",
		ManifestFile: "pave.yaml",
		Digest:       digest,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("deployed %s version %d\n", fn.Name, fn.Version)

	_, err = c.GetFunction(ctx, "goodbye")
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// deployed hello version 1
	// 404 function_not_found
}

// fakeDaemon answers the few admin API calls of the example.
func fakeDaemon() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("HEAD /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("PUT /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /v1/functions", func(w http.ResponseWriter, r *http.Request) {
		var req client.DeployRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(client.Function{Name: "hello", Version: 1, Digest: req.Digest})
	})
	mux.HandleFunc("GET /v1/functions/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(client.ErrorBody{Error: client.ErrorDetail{
			Code:      "function_not_found",
			Message:   fmt.Sprintf("function %q does not exist", r.PathValue("name")),
			RequestID: "req-1",
		}})
	})
	return mux
}
