package daemon

import (
	"context"
	"fmt"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
	"github.com/pave-dev/pave/internal/posture"
)

// newPostureChecker builds the posture checker from the configuration:
// the policy, the vulnerability database and the deploy threshold.
func newPostureChecker(d *Daemon, vault posture.SecretLister, policies *policy.Store) (*posture.Checker, error) {
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
		Functions: d.reg, Usage: d.usage, Secrets: vault, Log: d.log, Policies: policies.Current,
		Daemon: func() posture.Daemon {
			return posture.Daemon{AuditTampering: d.audit.tampering(), AuditKeyInStore: keyPath}
		},
	}, cfg), nil
}

// admitPolicies returns the registry's admission function: a deploy must
// comply with the organisation's policies as stored now. Policies that
// cannot be read refuse the deploy: they fail closed.
func admitPolicies(policies *policy.Store) func(context.Context, *manifest.Manifest) error {
	return func(ctx context.Context, m *manifest.Manifest) error {
		set, err := policies.Current(ctx)
		if err != nil {
			return apierror.Wrap(err, apierror.Unavailable, "the organisation's policies cannot be read right now; deploys are refused until they can")
		}
		return set.Admit(m)
	}
}
