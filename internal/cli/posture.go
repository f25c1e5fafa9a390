package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/posture"
	"github.com/pave-dev/pave/internal/version"
)

var postureCommand = &command{
	name:    "posture",
	summary: "report security findings, for people or CI",
	help: `
Checks every deployed function against pave's posture rules and prints the
findings: each with a rule id, severity, the serverless risk it maps to
(SAS-1 to SAS-12), the function, the evidence and the fix.

--format is table (default), json, or sarif (SARIF 2.1.0, for code-scanning
tools). --fail-on SEVERITY exits with status 1 when a finding is at that
severity or above (info, low, medium, high, critical): put it in CI.

--offline DIR checks the pave.yaml files under DIR without a daemon, before
anything is deployed (in a pull request, say), and the module each would
deploy: a prebuilt .wasm the manifest names, or the one pave build left in
the function's .pave directory; --build builds the Go ones first, as pave
deploy does. The rules that need usage data do not run offline. --osv
checks the modules against an OSV vulnerability database (a file of
records, the zip archive the Go vulnerability database or osv.dev
publishes, or a directory of records), as a daemon does with its
--osv-file. --policy checks them against the rules of a policy file, as a
daemon does with the policies set by pave policy set: each violation is a
PAVE-POLICY finding. The rules are listed in docs/SECURITY.md.`,
	run: runPosture,
}

// errFindings reports findings at or above --fail-on.
type errFindings struct {
	n   int
	sev posture.Severity
}

func (e errFindings) Error() string {
	return fmt.Sprintf("%d finding%s at severity %s or above", e.n, plural(e.n), e.sev)
}

func runPosture(ctx context.Context, inv *invocation, args []string) error {
	dataDir := inv.dataDirFlag("data")
	formatOf := inv.formatFlag(formatTable, formatJSON, "sarif")
	failOn := inv.fs.String("fail-on", "", "exit 1 when a finding is at this severity or above")
	offline := inv.fs.String("offline", "", "check the manifests under `DIR` instead of a daemon")
	osvFile := inv.fs.String("osv", "", "with --offline: an OSV vulnerability database `FILE`, zip archive or directory")
	build := inv.fs.Bool("build", false, "with --offline: build each function's Go module first, as pave deploy does")
	policyFile := inv.fs.String("policy", "", "with --offline: check against the rules of the policy `FILE`")
	if _, err := inv.parse(args, 0, 0); err != nil {
		return err
	}
	f, err := formatOf()
	if err != nil {
		return err
	}
	format := &f
	var threshold *posture.Severity
	if *failOn != "" {
		s, err := posture.ParseSeverity(*failOn)
		if err != nil {
			return inv.usageErrorf("--fail-on %q: want info, low, medium, high or critical", *failOn)
		}
		threshold = &s
	}
	if *osvFile != "" && *offline == "" {
		return inv.usageErrorf("--osv goes with --offline; a daemon uses its own --osv-file")
	}
	if *build && *offline == "" {
		return inv.usageErrorf("--build goes with --offline")
	}
	if *policyFile != "" && *offline == "" {
		return inv.usageErrorf("--policy goes with --offline; a daemon reports against its own policies")
	}

	var rep *posture.Report
	var root string
	if *offline != "" {
		rep, root, err = offlineReport(ctx, *offline, *osvFile, *policyFile, *build, inv.stderr)
	} else {
		rep, err = liveReport(ctx, inv, *dataDir)
	}
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		err = posture.WriteJSON(inv.stdout, rep)
	case "sarif":
		err = posture.WriteSARIF(inv.stdout, rep, posture.SARIFOptions{ToolVersion: version.String(), Root: root})
	default:
		err = posture.WriteTable(inv.stdout, rep)
	}
	if err != nil {
		return err
	}
	if threshold != nil {
		if n := len(rep.AtOrAbove(*threshold)); n > 0 {
			return errFindings{n: n, sev: *threshold}
		}
	}
	return nil
}

func liveReport(ctx context.Context, inv *invocation, dataDir string) (*posture.Report, error) {
	c, err := inv.client(dataDir)
	if err != nil {
		return nil, err
	}
	b, err := c.Posture(ctx, "json")
	if err != nil {
		return nil, err
	}
	var rep posture.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("decoding the posture report: %w", err)
	}
	return &rep, nil
}

// offlineReport checks every pave.yaml under dir and the modules they
// deploy (see offlineModule). Manifests are named relative to root, the
// repository that holds dir, or dir itself outside a repository.
// A policy file adds its rules' violations (PAVE-POLICY).
func offlineReport(ctx context.Context, dir, osvFile, policyFile string, build bool, stderr io.Writer) (rep *posture.Report, root string, err error) {
	p := posture.DefaultPolicy()
	if osvFile != "" {
		db, err := posture.LoadOSV(osvFile)
		if err != nil {
			return nil, "", err
		}
		p.OSV = db
	}
	var in posture.Input
	if policyFile != "" {
		if in.Policies, err = loadPolicyFile(policyFile); err != nil {
			return nil, "", err
		}
	}
	if root = repoRoot(dir); root == "" {
		if root, err = filepath.Abs(dir); err != nil {
			return nil, "", err
		}
	}
	paths, err := manifestPaths(dir)
	if err != nil {
		return nil, "", err
	}
	var problems []error
	for _, path := range paths {
		m, err := manifest.ParseFile(path)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, "", err
		}
		rel, _ := filepath.Rel(root, abs)
		module, err := offlineModule(ctx, m, filepath.Dir(path), build, stderr)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if module == nil && p.OSV != nil {
			fmt.Fprintf(stderr, "posture: %s: no module to check for vulnerabilities; run pave build first, or pass --build\n", filepath.ToSlash(rel))
		}
		in.Functions = append(in.Functions, posture.Function{Manifest: m, ManifestPath: filepath.ToSlash(rel), Module: module})
	}
	if len(problems) > 0 {
		return nil, "", errors.Join(problems...)
	}
	if len(in.Functions) == 0 {
		return nil, "", fmt.Errorf("no %s under %s", manifestName, dir)
	}
	return posture.Check(in, p), root, nil
}

// offlineModule returns the module the function in dir deploys: a prebuilt
// .wasm its manifest names, or (built first with build) the one pave build
// writes to dir/.pave; nil if there is none yet.
func offlineModule(ctx context.Context, m *manifest.Manifest, dir string, build bool, stderr io.Writer) ([]byte, error) {
	path := filepath.Join(dir, buildDir, m.Name+".wasm")
	if m.IsWasmFile() || build {
		var err error
		if path, err = BuildModule(ctx, m, dir, stderr); err != nil {
			return nil, err
		}
	}
	module, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !m.IsWasmFile() && !build {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("module of %s: %w", m.Name, err)
	}
	return module, nil
}
