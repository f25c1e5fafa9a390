# Everything CI runs is `make check`; .ci/run calls exactly that.
GO ?= go

# The JavaScript engine compiles each capability group in by build tag
# (runtime/js): vet, staticcheck and its tests also see it with them all.
JS_CAPABILITY_TAGS := pave_secrets,pave_kv,pave_http,pave_invoke,pave_publish

.PHONY: check vet fmt lint staticcheck deadcode browser toolchains test test-short build up bench fuzz soak screenshots

check: vet fmt lint browser toolchains test

# Debian's chromium for the web console's browser test, installed once where
# the machine allows it (root, or sudo without a password); never fails:
# without it, TestConsoleInBrowser skips and says why.
browser:
	@./scripts/browser.sh

# Debian's C and Rust toolchains for WASI, for the tests that build the C
# and Rust projects pave new writes; installed as the browser is, never
# failing: without them, those tests skip and say why.
toolchains:
	@./scripts/wasm-toolchains.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(JS_CAPABILITY_TAGS) ./runtime/js/

# gofmt must have nothing to say about tracked Go files.
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The linters, at pinned versions, are installed into bin/ by `go install`
# the first time they are needed; a new version installs beside the old.
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION := v0.52.0
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)/staticcheck
DEADCODE := bin/deadcode-$(DEADCODE_VERSION)/deadcode

lint: staticcheck deadcode

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags $(JS_CAPABILITY_TAGS) ./runtime/js/

# Functions in internal/ that cmd/pave cannot reach; see scripts/deadcode.sh.
deadcode: $(DEADCODE)
	DEADCODE=$(DEADCODE) ./scripts/deadcode.sh

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(@D) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(DEADCODE):
	GOBIN=$(CURDIR)/$(@D) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)

# Tests the race detector only slows are left out of race builds (files
# marked //go:build !race: the daemon's JavaScript tests and its tests of
# the Go, JavaScript and TypeScript projects pave new writes, the console's
# browser test, its test of a module compiled from nothing, the store's
# test of a watch whose server stops, the guests run on the interpreter,
# the rewritten guest corpus), so they run once more
# without the detector. The JavaScript engine's tests run once more with
# every capability group compiled in (JS_CAPABILITY_TAGS).
test:
	$(GO) test -race -timeout 20m ./...
	$(GO) test -timeout 10m -run 'JavaScript|ConsoleInBrowser|ClusterWatchesResume|NewModuleServesBeforeItsMachineCode|WatchResumesWhenAnotherServerStops' ./internal/daemon/ ./internal/store/
	$(GO) test -timeout 10m ./internal/testguests/ ./internal/wasmbin/
	$(GO) test -tags $(JS_CAPABILITY_TAGS) ./runtime/js/

# The fast lane: skips the tests that compile guest functions or run a
# daemon (testing.Short), for an answer in about a minute. CI runs `test`.
test-short:
	$(GO) test -short ./...

build:
	$(GO) build -o bin/pave ./cmd/pave

# Runs pave with the example functions deployed.
up:
	$(GO) run ./cmd/pave up

# Benchmark: pave's gateway against a bare net/http handler, in one run.
# Warns, without failing, of each ratio more than 20% below the recorded
# one; pave bench --json internal/bench/testdata/recorded.json records anew.
bench:
	$(GO) run ./cmd/pave bench --compare internal/bench/testdata/recorded.json

# Screenshots of each page of the web console into docs/console/, taken by
# its browser test at a fixed viewport.
screenshots: browser
	PAVE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run '^TestConsoleInBrowser$$' ./internal/daemon/

# Kills the daemon with SIGKILL 20 times while asynchronous calls and events
# are in flight, and checks that nothing accepted is lost or run twice
# (the suite runs 3 cycles); restarts it inside a real schedule tick; and, on
# a three-server NATS cluster, stops a NATS server, kills a nats-server
# process with SIGKILL, then kills a pave node, under asynchronous load; and
# measures a split rate limit while a node joins and one leaves.
SOAK_CYCLES ?= 20
soak:
	PAVE_SOAK_CYCLES=$(SOAK_CYCLES) $(GO) test -race -count=1 -timeout 60m -run '^(TestKillDuringAsyncWork|TestScheduleRunsOncePerTickAcrossARestart|TestClusterNATSNodeKilled|TestClusterNATSProcessKilled|TestClusterPaveNodeKilled|TestClusterRateWhileMembershipChanges)$$' -v ./internal/daemon/

# Longer fuzzing of every parser: every Fuzz target in the module, FUZZTIME
# each.
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh
