// Package posture judges the security posture of pave functions: it turns a
// description of deployed, or about-to-be-deployed, functions into findings
// and renders them as a table, JSON or SARIF 2.1.0.
//
// It is a library without side effects. The caller gathers the input (from
// manifests on disk, or from a daemon's records) and decides what to do
// with the report:
//
//	db, err := posture.LoadOSV("osv.json") // optional
//	p := posture.DefaultPolicy()
//	p.OSV = db
//	report := posture.Check(posture.Input{Functions: fns, Secrets: secrets}, p)
//	posture.WriteTable(os.Stdout, report)
//	if failOn, _ := posture.ParseSeverity("high"); len(report.AtOrAbove(failOn)) > 0 {
//		os.Exit(1)
//	}
//
// A Checker gathers that input from a running daemon, through the small
// interfaces it declares (Registry, UsageRecords, SecretLister): it serves
// the posture report and the deploy check, keeps each module's findings by
// digest, and reads the vulnerability database again when its files
// change.
//
// # Modes
//
// A Function carries its parsed manifest and, optionally, its WebAssembly
// module and usage data. Offline (a CLI reading a repository), functions
// are built from manifests alone: Live is false and Module may be nil.
// Live (the daemon), Live is true and Deployed, LastInvoked and GrantUses
// come from the daemon's records. The rules that need usage data run only
// for live functions, so that an unknown last invocation is never taken
// for "never invoked"; the rules that need a module run only when one is
// given; everything else runs in both modes.
//
// # Rules
//
// Each finding names a rule with a stable id, a severity, and the risk of
// docs/SECURITY.md it maps to (SAS-1 to SAS-12, after the Cloud Security
// Alliance's 12 most critical risks for serverless applications), with the
// function, the evidence and the fix in one sentence. Evidence never holds
// a secret's value.
//
//	PAVE-PUBLIC-ROUTE           low      SAS-2   a route with public: true
//	PAVE-PUBLIC-NO-CONTRACT     medium   SAS-1   a public route without a body or query schema
//	PAVE-PUBLIC-NO-RATE-LIMIT   low      SAS-8   public routes, and no rate_limit or budget of its own
//	PAVE-UNUSED-GRANT           medium   SAS-4   live: a granted capability group unused for UnusedGrantAfter
//	PAVE-UNUSED-FUNCTION        low      SAS-11  live: not invoked (or, if never, deployed) for UnusedFunctionAfter
//	PAVE-OWNER-MISSING          high     SAS-3   no owner
//	PAVE-OWNER-UNKNOWN          medium   SAS-3   an owner not in KnownOwners
//	PAVE-LIMIT-ABOVE-POLICY     medium   SAS-8   timeout, memory or concurrency above the policy
//	PAVE-HTTP-WILDCARD          medium   SAS-4   an http grant to *.domain
//	PAVE-HTTP-IP-LITERAL        medium   SAS-4   an http grant to an IP address
//	PAVE-SECRET-NOT-ROTATED     medium   SAS-7   a granted secret not rotated for SecretRotateAfter
//	PAVE-UNREDACTED-ROUTE       medium   SAS-7   a route with redaction disabled, and its reason
//	PAVE-HARDCODED-SECRET       critical SAS-7   module: a credential in the data segments
//	PAVE-VULNERABLE-DEPENDENCY  high     SAS-6   module: Go version or dependency in the OSV database (at the record's severity, if it rates one)
//	PAVE-MODULE-NOT-SCANNED     info     SAS-6   module: unreadable, or no Go build info to check
//	PAVE-TRIGGER-NO-SCHEMA      low      SAS-1   a topic trigger without a data schema
//	PAVE-AUDIT-TAMPERED         critical SAS-5   daemon: its audit log was tampered with
//	PAVE-AUDIT-KEY-IN-STORE     medium   SAS-5   daemon: the audit key in the embedded store's directory
//	PAVE-POLICY                 high     SAS-3   a violation of one of the organisation's rules (Input.Policies, package policy)
//
// Rules returns the same catalogue with descriptions; Policy.Ignore turns
// rules off by id.
//
// An unused grant is measured from the later of the deploy and the
// grant's last use: a grant is not reported until it has had
// UnusedGrantAfter to be used. A secret's age is measured from its last
// rotation, or its creation if it was never rotated; secrets not listed in
// Input.Secrets are not judged.
//
// # Modules
//
// Module rules read the WebAssembly binary through package wasmbin (its
// sections, data segments and custom sections), which trusts no length; a
// malformed module fails with ErrMalformed rather than being guessed at.
//
// ScanSecrets looks through the data segments for AWS access key ids,
// PEM private key blocks, pave API keys and admin tokens, GitHub and Slack
// tokens, and high-entropy values assigned to a secret-sounding name
// ("password=", "api_key:", ...). A finding gives the kind, the offset in
// the module and at most the value's first four characters.
//
// ReadBuildInfo reads the Go version and module list of a module built by
// the go command. debug/buildinfo does not read WebAssembly, and Go's wasm
// linker leaves out the section holding the "\xff Go buildinf:" blob, so
// the version comes from the module's producers section and the module
// list from runtime.modinfo, found in the data by the go command's framing
// (the blob is still decoded first, should a linker write it). OSV holds
// vulnerability records (LoadOSV, ParseOSV: a JSON array, one record, or
// JSON lines) and matches ecosystem Go: "stdlib" and "toolchain" against
// the Go version, other packages against the dependencies, by semantic
// version ranges or listed versions.
//
// # Output
//
// Report.Findings are sorted by severity (highest first), function and rule
// id. WriteTable, WriteJSON and WriteSARIF render a report; SARIF results
// point at the function's manifest (Function.ManifestPath, relative to the
// repository root, which SARIF calls %SRCROOT%) and at the line of the
// route, grant or limit concerned, or line 1 for module findings.
package posture
