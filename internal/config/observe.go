package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/limits"
)

// Environment variables of the observability settings.
const (
	EnvHistoryMaxAge   = "PAVE_HISTORY_MAX_AGE"
	EnvHistoryMaxBytes = "PAVE_HISTORY_MAX_BYTES"
	EnvMetricsAddr     = "PAVE_METRICS_LISTEN"
	EnvAuditKeyFile    = "PAVE_AUDIT_KEY_FILE"
	EnvAuditFile       = "PAVE_AUDIT_FILE"
	EnvOSVFile         = "PAVE_OSV_FILE"
	EnvUnusedAfter     = "PAVE_UNUSED_AFTER"
	EnvDeployFailOn    = "PAVE_DEPLOY_FAIL_ON"
	EnvAutoQuarantine  = "PAVE_AUTO_QUARANTINE_AFTER"
)

// Observability configures what pave records and reports: the invocation
// history, the metrics listener, the audit log and the posture checks.
type Observability struct {
	// HistoryMaxAge and HistoryMaxBytes bound the invocation history; the
	// oldest records go first.
	HistoryMaxAge   time.Duration
	HistoryMaxBytes int64
	// MetricsAddr, when set, serves /metrics without authentication on a
	// listener of its own, for a Prometheus server that cannot send the
	// admin token. The admin listener always serves /metrics to the admin.
	MetricsAddr string
	// AuditKeyFile holds the key that seals the audit log, created (mode
	// 0600) on first start, outside the store. Empty means DataDir/audit.key.
	AuditKeyFile string
	// AuditFile, when set, receives every audit event as a JSON line too,
	// for a log shipper or SIEM.
	AuditFile string
	// OSVFile is a vulnerability database (OSV JSON) that deploys and
	// posture reports check modules' Go build information against.
	OSVFile string
	// UnusedAfter is how long a function or grant may go unused before the
	// posture report says so.
	UnusedAfter time.Duration
	// DeployFailOn refuses a deploy whose posture findings reach this
	// severity (info, low, medium, high, critical); empty refuses none.
	DeployFailOn string
	// AutoQuarantineAfter, when positive, quarantines functions that have
	// not run for this long (counted from their last deploy if they never
	// ran): the opt-in policy against forgotten functions.
	AutoQuarantineAfter time.Duration
}

// Defaults of Observability.
const (
	DefaultHistoryMaxAge   = 7 * 24 * time.Hour
	DefaultHistoryMaxBytes = 1 << 30
	DefaultUnusedAfter     = 30 * 24 * time.Hour
)

// DefaultObservability returns the observability defaults.
func DefaultObservability() Observability {
	return Observability{
		HistoryMaxAge:   DefaultHistoryMaxAge,
		HistoryMaxBytes: DefaultHistoryMaxBytes,
		UnusedAfter:     DefaultUnusedAfter,
	}
}

// AuditKeyPath is the audit key file in use.
func (c Config) AuditKeyPath() string {
	if c.Observability.AuditKeyFile != "" {
		return c.Observability.AuditKeyFile
	}
	return filepath.Join(c.DataDir, "audit.key")
}

// severities are the posture severities, lowest first.
var severities = []string{"info", "low", "medium", "high", "critical"}

// observabilityFlags registers the observability flags on fs; the
// returned function finishes parsing after fs.Parse.
func (c *Config) observabilityFlags(fs *flag.FlagSet, getenv func(string) string) func() error {
	o := &c.Observability
	maxAge := envOr(getenv, EnvHistoryMaxAge, o.HistoryMaxAge.String())
	fs.Func("history-max-age", "how long invocation records and function logs are kept ("+EnvHistoryMaxAge+", default "+maxAge+")", func(s string) error {
		maxAge = s
		return nil
	})
	maxBytes := envOr(getenv, EnvHistoryMaxBytes, strconv.FormatInt(o.HistoryMaxBytes, 10))
	fs.Func("history-max-bytes", "how many bytes of invocation records are kept, such as 512MiB ("+EnvHistoryMaxBytes+", default 1GiB)", func(s string) error {
		maxBytes = s
		return nil
	})
	unused := envOr(getenv, EnvUnusedAfter, o.UnusedAfter.String())
	fs.Func("unused-after", "how long a function or grant may go unused before posture reports it ("+EnvUnusedAfter+", default "+unused+")", func(s string) error {
		unused = s
		return nil
	})
	autoQ := envOr(getenv, EnvAutoQuarantine, "0s")
	fs.Func("auto-quarantine-after", "quarantine functions that have not run for this long, such as 2160h; 0 turns it off ("+EnvAutoQuarantine+", default off)", func(s string) error {
		autoQ = s
		return nil
	})
	fs.StringVar(&o.MetricsAddr, "metrics-listen", envOr(getenv, EnvMetricsAddr, o.MetricsAddr), "also serve /metrics, unauthenticated, on this address ("+EnvMetricsAddr+")")
	fs.StringVar(&o.AuditKeyFile, "audit-key-file", envOr(getenv, EnvAuditKeyFile, o.AuditKeyFile), "file of the key that seals the audit log, created 0600 if absent; default DATA/audit.key ("+EnvAuditKeyFile+")")
	fs.StringVar(&o.AuditFile, "audit-file", envOr(getenv, EnvAuditFile, o.AuditFile), "also append every audit event to this file as a JSON line ("+EnvAuditFile+")")
	fs.StringVar(&o.OSVFile, "osv-file", envOr(getenv, EnvOSVFile, o.OSVFile), "OSV vulnerability database (JSON records, a vulndb or osv.dev zip, or a directory; read again when it changes) to check modules' Go dependencies against ("+EnvOSVFile+")")
	fs.StringVar(&o.DeployFailOn, "deploy-fail-on", envOr(getenv, EnvDeployFailOn, o.DeployFailOn), "refuse deploys with posture findings of this severity or above: info, low, medium, high, critical ("+EnvDeployFailOn+")")
	return func() error {
		var errs []error
		d, err := time.ParseDuration(maxAge)
		if err != nil {
			errs = append(errs, fmt.Errorf("--history-max-age %q: %v", maxAge, err))
		}
		o.HistoryMaxAge = d
		n, err := limits.ParseSize(maxBytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("--history-max-bytes: %v", err))
		}
		o.HistoryMaxBytes = n
		d, err = time.ParseDuration(unused)
		if err != nil {
			errs = append(errs, fmt.Errorf("--unused-after %q: %v", unused, err))
		}
		o.UnusedAfter = d
		d, err = time.ParseDuration(autoQ)
		if err != nil {
			errs = append(errs, fmt.Errorf("--auto-quarantine-after %q: %v", autoQ, err))
		}
		o.AutoQuarantineAfter = d
		return errors.Join(errs...)
	}
}

// validate reports problems with the observability settings.
func (o Observability) validate() []error {
	var errs []error
	if o.HistoryMaxAge < time.Minute {
		errs = append(errs, fmt.Errorf("--history-max-age %s: want at least 1m", o.HistoryMaxAge))
	}
	if o.HistoryMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("--history-max-bytes %d: want at least 1MiB", o.HistoryMaxBytes))
	}
	if o.UnusedAfter < time.Hour {
		errs = append(errs, fmt.Errorf("--unused-after %s: want at least 1h", o.UnusedAfter))
	}
	if o.AutoQuarantineAfter != 0 && o.AutoQuarantineAfter < time.Hour {
		errs = append(errs, fmt.Errorf("--auto-quarantine-after %s: want 0 (off) or at least 1h", o.AutoQuarantineAfter))
	}
	if o.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: want host:port", o.MetricsAddr))
		}
	}
	if o.DeployFailOn != "" && !contains(severities, o.DeployFailOn) {
		errs = append(errs, fmt.Errorf("--deploy-fail-on %q: want one of %s", o.DeployFailOn, strings.Join(severities, ", ")))
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
