package daemon

import (
	"fmt"

	"github.com/pave-dev/pave/internal/posture"
)

// newPostureChecker builds the posture checker from the configuration:
// the policy, the vulnerability database and the deploy threshold.
func newPostureChecker(d *Daemon, vault posture.SecretLister) (*posture.Checker, error) {
	o := d.cfg.Observability
	cfg := posture.CheckerConfig{Policy: posture.DefaultPolicy()}
	cfg.Policy.UnusedFunctionAfter, cfg.Policy.UnusedGrantAfter = o.UnusedAfter, o.UnusedAfter
	if o.OSVFile != "" {
		src, err := posture.OpenOSV(o.OSVFile)
		if err != nil {
			return nil, fmt.Errorf("--osv-file: %w", err)
		}
		cfg.OSV = src
		db, _, _ := src.Current()
		d.log.Info("loaded the vulnerability database", "file", o.OSVFile, "records", db.Records())
	}
	if o.DeployFailOn != "" {
		s, err := posture.ParseSeverity(o.DeployFailOn)
		if err != nil {
			return nil, fmt.Errorf("--deploy-fail-on: %w", err)
		}
		cfg.FailOn = &s
	}
	keyPath := keyInStore(d.cfg, d.nats.Embedded())
	return posture.NewChecker(posture.CheckerDeps{
		Functions: d.reg, Usage: d.usage, Secrets: vault, Log: d.log,
		Daemon: func() posture.Daemon {
			return posture.Daemon{AuditTampering: d.audit.tampering(), AuditKeyInStore: keyPath}
		},
	}, cfg), nil
}
