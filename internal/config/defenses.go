package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

// Defenses is the daemon-wide configuration of the gateway's checks: the
// trusted JWT issuers and the defaults that apply where a manifest sets
// nothing.
type Defenses struct {
	// Issuers are the trusted JWT issuers; routes with auth: jwt refuse
	// every token when there are none.
	Issuers []Issuer
	// FunctionRate and CallerRate are the default token buckets of a
	// function (all callers together) and of each caller of a function.
	FunctionRate limits.Rate
	CallerRate   limits.Rate
	// OwnerConcurrency bounds the invocations in flight for all functions
	// of one owner; 0 means no bound.
	OwnerConcurrency int
	// Budget is the default budget of a function whose manifest sets none.
	Budget limits.Budget
	// MaxCallDepth caps function-to-function call chains.
	MaxCallDepth int
	// MaxCalls caps the invocations one root request, event or tick
	// causes in total, its own included.
	MaxCalls int
	// EgressAllow are networks the http capability may reach although
	// they are not public (loopback, private, link-local ...). Empty: only
	// public addresses. Cloud metadata addresses stay refused unless
	// listed exactly.
	EgressAllow []netip.Prefix
}

// Defaults of the defences. They are generous enough for a busy function on
// one machine and small enough that a runaway client or a call loop is
// stopped within seconds, not at the end of the month.
const (
	DefaultFunctionRate     = 2000 // per second
	DefaultFunctionBurst    = 4000
	DefaultCallerRate       = 1000 // per second
	DefaultCallerBurst      = 2000
	DefaultOwnerConcurrency = 512
	DefaultMaxCallDepth     = 8
	DefaultMaxCalls         = 100
	// DefaultBudgetInvocations and DefaultBudgetCompute are a function's
	// daily budget when its manifest has none: 10 million calls, or one
	// gigabyte of memory limit busy for about 28 hours.
	DefaultBudgetInvocations = 10_000_000
	DefaultBudgetCompute     = 100_000 // GB-seconds
)

// DefaultDefenses returns the defences used when nothing is configured.
func DefaultDefenses() Defenses {
	return Defenses{
		FunctionRate:     limits.Rate{PerSecond: DefaultFunctionRate, Burst: DefaultFunctionBurst},
		CallerRate:       limits.Rate{PerSecond: DefaultCallerRate, Burst: DefaultCallerBurst},
		OwnerConcurrency: DefaultOwnerConcurrency,
		Budget:           limits.Budget{Window: "day", Invocations: DefaultBudgetInvocations, ComputeGBs: DefaultBudgetCompute},
		MaxCallDepth:     DefaultMaxCallDepth,
		MaxCalls:         DefaultMaxCalls,
	}
}

// Issuer is one trusted JWT issuer, as read from the issuers file.
type Issuer struct {
	Issuer     string
	Audiences  []string
	JWKSURL    string
	JWKS       []byte // the static key set, read from JWKSFile
	JWKSFile   string
	Algorithms []string
	Type       string
	ClockSkew  time.Duration
	ScopeClaim string
	RolesClaim string
}

// issuerFile is the JSON layout of the issuers file.
type issuerFile struct {
	Issuers []struct {
		Issuer     string   `json:"issuer"`
		Audiences  []string `json:"audiences"`
		JWKSURL    string   `json:"jwks_url"`
		JWKSFile   string   `json:"jwks_file"`
		Algorithms []string `json:"algorithms"`
		Type       string   `json:"typ"`
		ClockSkew  string   `json:"clock_skew"`
		ScopeClaim string   `json:"scope_claim"`
		RolesClaim string   `json:"roles_claim"`
	} `json:"issuers"`
}

// maxConfigFile bounds the issuers file and every JWKS file.
const maxConfigFile = 1 << 20

// allowedAlgorithms are the asymmetric JWS algorithms an issuer may use.
// HMAC algorithms are absent on purpose: pave never shares a secret with
// an issuer, so a token "signed" with HS256 can only be an attack.
var allowedAlgorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// LoadIssuers reads and validates the issuers file at path, with the JWKS
// files it names, which are relative to the issuers file's directory.
func LoadIssuers(path string) ([]Issuer, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	var f issuerFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data after the JSON object", path)
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]Issuer, 0, len(f.Issuers))
	for i, raw := range f.Issuers {
		at := fmt.Sprintf("%s: issuers[%d]", path, i)
		iss := Issuer{
			Issuer: raw.Issuer, Audiences: raw.Audiences, JWKSURL: raw.JWKSURL, JWKSFile: raw.JWKSFile,
			Algorithms: raw.Algorithms, Type: raw.Type, ScopeClaim: raw.ScopeClaim, RolesClaim: raw.RolesClaim,
		}
		if raw.ClockSkew != "" {
			d, err := time.ParseDuration(raw.ClockSkew)
			if err != nil || d < 0 || d > 5*time.Minute {
				errs = append(errs, fmt.Errorf("%s.clock_skew %q: want a duration from 0 to 5m", at, raw.ClockSkew))
			}
			iss.ClockSkew = d
		}
		if u, err := url.Parse(iss.Issuer); iss.Issuer == "" || err != nil || u.Scheme == "" {
			errs = append(errs, fmt.Errorf("%s.issuer %q: want the issuer URL exactly as tokens carry it in iss", at, iss.Issuer))
		} else if seen[iss.Issuer] {
			errs = append(errs, fmt.Errorf("%s.issuer %q: listed twice", at, iss.Issuer))
		}
		seen[iss.Issuer] = true
		if len(iss.Audiences) == 0 || slicesContainEmpty(iss.Audiences) {
			errs = append(errs, fmt.Errorf("%s.audiences: name at least one non-empty audience: tokens meant for other services must not be accepted", at))
		}
		if len(iss.Algorithms) == 0 {
			errs = append(errs, fmt.Errorf("%s.algorithms: name the algorithms the issuer signs with, such as [\"RS256\"]", at))
		}
		for _, a := range iss.Algorithms {
			if !allowedAlgorithms[a] {
				errs = append(errs, fmt.Errorf("%s.algorithms: %q is not allowed; use asymmetric algorithms only (RS*, PS*, ES*, EdDSA)", at, a))
			}
		}
		switch {
		case (iss.JWKSURL == "") == (iss.JWKSFile == ""):
			errs = append(errs, fmt.Errorf("%s: give exactly one of jwks_url and jwks_file", at))
		case iss.JWKSURL != "":
			if err := checkJWKSURL(iss.JWKSURL); err != nil {
				errs = append(errs, fmt.Errorf("%s.jwks_url: %v", at, err))
			}
		default:
			p := iss.JWKSFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			jwks, err := readSmallFile(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.jwks_file: %v", at, err))
			}
			iss.JWKS = jwks
		}
		out = append(out, iss)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func slicesContainEmpty(s []string) bool {
	for _, v := range s {
		if strings.TrimSpace(v) == "" {
			return true
		}
	}
	return false
}

// checkJWKSURL accepts https URLs, and http ones on loopback only.
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
			return nil
		}
	}
	return fmt.Errorf("%q: keys must be fetched over https (plain http only from loopback)", s)
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxConfigFile)
	}
	return data, nil
}

// parseRateFlag parses "RATE" or "RATE:BURST", such as "100/s:200".
func parseRateFlag(s string) (limits.Rate, error) {
	rate, burst, hasBurst := strings.Cut(s, ":")
	ps, err := limits.ParseRate(rate)
	if err != nil {
		return limits.Rate{}, err
	}
	r := limits.Rate{PerSecond: ps, Burst: max(1, int(ps+0.999999))}
	if hasBurst {
		b, err := strconv.Atoi(burst)
		if err != nil || b < 1 || b > 1_000_000 {
			return limits.Rate{}, fmt.Errorf("burst %q: want a whole number from 1 to 1000000", burst)
		}
		r.Burst = b
	}
	return r, nil
}

// formatRateFlag is the inverse of parseRateFlag.
func formatRateFlag(r limits.Rate) string {
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
}

// parseNets parses a comma-separated list of CIDR prefixes.
func parseNets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q: want CIDR notation such as 10.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
