// Package certs serves a TLS certificate and its private key from two PEM
// files, and picks up new files when they change, so that a certificate
// renewed by an ACME client or a secrets manager takes effect without a
// restart.
//
// A Reloader reads both files when it is made and refuses to start without
// a valid pair. From then on, a TLS handshake at most once a second looks
// at the files' size, modification time and identity (so a file replaced by
// a rename, as Kubernetes and certbot do, is seen); when either changed it
// reads the pair again. A pair that does not load (half written, a key that
// does not match, a broken file) leaves the certificate in use in place and
// is logged once; the next change is tried again. Handshakes never wait on
// a reload: the certificate in use is one atomic load.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// checkEvery is how often, at most, a handshake looks at the files.
const checkEvery = time.Second

// A Reloader holds the certificate of one listener. Its methods are safe for
// concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	cur     atomic.Pointer[tls.Certificate]
	checked atomic.Int64 // unix nanoseconds of the last look at the files

	mu     sync.Mutex // held while looking at and reloading the files
	loaded [2]stamp   // of the files the certificate in use came from
	failed [2]stamp   // of the files that last failed to load, logged once
}

// stamp identifies a version of a file without reading it.
type stamp struct {
	size    int64
	modTime time.Time
	dev     uint64
	ino     uint64
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	s := stamp{size: fi.Size(), modTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s, nil
}

// Load reads the certificate chain in certFile and its private key in
// keyFile (PEM) and returns a Reloader serving them. log receives reloads
// and failed reloads; nil discards them.
func Load(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	stamps, cert, err := r.read()
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(keyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the TLS key file is readable by other users: make it 0600", "file", keyFile, "mode", fi.Mode().Perm().String())
	}
	r.loaded = stamps
	r.cur.Store(cert)
	r.checked.Store(r.now().UnixNano())
	return r, nil
}

// read stamps and loads the pair.
func (r *Reloader) read() ([2]stamp, *tls.Certificate, error) {
	var stamps [2]stamp
	for i, path := range []string{r.certFile, r.keyFile} {
		s, err := stampOf(path)
		if err != nil {
			return stamps, nil, fmt.Errorf("tls: %w", err)
		}
		stamps[i] = s
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return stamps, nil, fmt.Errorf("tls: certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	return stamps, &cert, nil
}

// Certificate returns the certificate in use, reloading it first if the
// files changed since the last look, which is at most a second old.
func (r *Reloader) Certificate() *tls.Certificate {
	now := r.now().UnixNano()
	if last := r.checked.Load(); now-last >= int64(checkEvery) && r.checked.CompareAndSwap(last, now) {
		r.reload()
	}
	return r.cur.Load()
}

// reload loads the files again if they changed.
func (r *Reloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var now [2]stamp
	for i, path := range []string{r.certFile, r.keyFile} {
		s, err := stampOf(path)
		if err != nil {
			// Gone for a moment (between a delete and a create) or
			// unreadable: keep what is in use, and look again later.
			return
		}
		now[i] = s
	}
	if now == r.loaded || now == r.failed {
		return
	}
	stamps, cert, err := r.read()
	if err != nil {
		r.failed = stamps
		r.log.Error("TLS certificate not reloaded: keeping the one in use", "err", err)
		return
	}
	r.loaded, r.failed = stamps, [2]stamp{}
	r.cur.Store(cert)
	r.log.Info("TLS certificate reloaded", "file", r.certFile)
}

// TLSConfig returns a server configuration that serves r's certificate over
// TLS 1.2 or later, offering HTTP/2 and HTTP/1.1.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.Certificate(), nil
		},
	}
}

// ClientConfig returns a client configuration that trusts the system's
// roots and the certificates in the PEM files named, such as a private
// certificate authority's or a self-signed server's own certificate.
func ClientConfig(files ...string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("tls: %s holds no PEM certificate", f)
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}
