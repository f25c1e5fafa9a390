package config

import (
	"errors"
	"flag"
)

// Environment variables of the listeners' TLS files.
const (
	EnvTLSCert      = "PAVE_TLS_CERT"
	EnvTLSKey       = "PAVE_TLS_KEY"
	EnvAdminTLSCert = "PAVE_ADMIN_TLS_CERT"
	EnvAdminTLSKey  = "PAVE_ADMIN_TLS_KEY"
)

// TLS names the PEM files of a listener's certificate chain and private key.
// Both empty serve plain HTTP. The daemon reloads them when they change
// (package certs).
type TLS struct {
	CertFile, KeyFile string
}

// Enabled reports whether the listener serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// tlsFlags defines the TLS flags on fs. The admin listener uses the
// gateway's pair unless it is given its own.
func (c *Config) tlsFlags(fs *flag.FlagSet, getenv func(string) string) (finish func()) {
	fs.StringVar(&c.GatewayTLS.CertFile, "tls-cert", envOr(getenv, EnvTLSCert, ""), "PEM certificate chain: the gateway, and the admin API unless --admin-tls-cert is set, serve HTTPS and HTTP/2 ("+EnvTLSCert+")")
	fs.StringVar(&c.GatewayTLS.KeyFile, "tls-key", envOr(getenv, EnvTLSKey, ""), "PEM private key of --tls-cert ("+EnvTLSKey+")")
	fs.StringVar(&c.AdminTLS.CertFile, "admin-tls-cert", envOr(getenv, EnvAdminTLSCert, ""), "PEM certificate chain of the admin API, if not --tls-cert's ("+EnvAdminTLSCert+")")
	fs.StringVar(&c.AdminTLS.KeyFile, "admin-tls-key", envOr(getenv, EnvAdminTLSKey, ""), "PEM private key of --admin-tls-cert ("+EnvAdminTLSKey+")")
	return func() {
		if !c.AdminTLS.Enabled() {
			c.AdminTLS = c.GatewayTLS
		}
	}
}

// validateTLS reports a pair given by half.
func (c Config) validateTLS() []error {
	var errs []error
	for _, t := range []struct {
		cert, key string
		tls       TLS
	}{
		{"--tls-cert", "--tls-key", c.GatewayTLS},
		{"--admin-tls-cert", "--admin-tls-key", c.AdminTLS},
	} {
		if t.tls.Enabled() && (t.tls.CertFile == "" || t.tls.KeyFile == "") {
			errs = append(errs, errors.New(t.cert+" and "+t.key+" go together: give both or neither"))
		}
	}
	return errs
}
