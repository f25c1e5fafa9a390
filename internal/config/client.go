package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/pave-dev/pave/internal/keyfile"
	"github.com/pave-dev/pave/internal/secret"
)

// Environment variables that point the CLI at a daemon. Each one overrides
// the matching file the daemon writes into its data directory.
const (
	EnvAdminURL = "PAVE_ADMIN_URL"
	EnvToken    = "PAVE_TOKEN"
	// EnvCAFile names a PEM file of certificates to trust, beside the
	// system's, for an admin API served over HTTPS.
	EnvCAFile = "PAVE_CA_FILE"
)

// Client is the configuration of the CLI's admin API client.
type Client struct {
	// AdminURL is the base URL of the admin API, without a trailing slash.
	AdminURL string
	// Token is the admin token sent as a bearer token.
	Token secret.Value
	// CAFile, when set, holds certificates to trust beside the system's.
	CAFile string
}

// ResolveClient finds the admin API of a daemon and the token to call it
// with. PAVE_ADMIN_URL and PAVE_TOKEN win when set; whatever they leave out is
// read from the files the daemon writes into dataDir (admin.url and
// admin.token). getenv is os.Getenv in production.
func ResolveClient(dataDir string, getenv func(string) string) (Client, error) {
	files := Config{DataDir: dataDir}

	rawURL := strings.TrimSpace(getenv(EnvAdminURL))
	if rawURL == "" {
		b, err := os.ReadFile(files.AdminURLFile())
		if errors.Is(err, fs.ErrNotExist) {
			return Client{}, fmt.Errorf("cannot find the pave daemon: set %s and %s, or pass --data DIR of a running daemon (no %s)",
				EnvAdminURL, EnvToken, files.AdminURLFile())
		}
		if err != nil {
			return Client{}, fmt.Errorf("cannot find the pave daemon: %w", err)
		}
		rawURL = strings.TrimSpace(string(b))
	}
	adminURL, err := parseAdminURL(rawURL)
	if err != nil {
		return Client{}, err
	}

	token := secret.Value(strings.TrimSpace(getenv(EnvToken)))
	if token == "" {
		token, err = ReadTokenFile(files.AdminTokenFile())
		if errors.Is(err, fs.ErrNotExist) {
			return Client{}, fmt.Errorf("cannot find the admin token: set %s, or pass --data DIR of the daemon at %s (no %s)",
				EnvToken, adminURL, files.AdminTokenFile())
		}
		if err != nil {
			return Client{}, err
		}
	}
	return Client{AdminURL: adminURL, Token: token, CAFile: strings.TrimSpace(getenv(EnvCAFile))}, nil
}

// MaxTokenFile bounds an admin token file: a token is a short line.
const MaxTokenFile = 4 << 10

// ReadTokenFile reads a token written by the daemon, as keyfile.LoadMax
// reads a key: it refuses a symbolic link, anything but a regular file, a
// file that users other than its owner may read or write, and one longer
// than MaxTokenFile, since the token grants full control of the daemon.
func ReadTokenFile(path string) (secret.Value, error) {
	b, err := keyfile.LoadMax(path, "admin token file", MaxTokenFile)
	if err != nil {
		return "", err
	}
	defer clear(b)
	if len(b) == 0 {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return secret.Value(b), nil
}

// parseAdminURL checks that s is an http or https base URL and returns it
// without a trailing slash.
func parseAdminURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("admin URL %q: want http://host:port or https://host:port", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("admin URL %s: credentials in the URL are not supported; use %s", u.Redacted(), EnvToken)
	}
	return strings.TrimRight(s, "/"), nil
}
