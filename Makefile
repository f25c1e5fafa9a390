# Everything CI runs is `make check`; .ci/run calls exactly that.
GO ?= go

.PHONY: check vet fmt test build up bench fuzz soak

check: vet fmt test

vet:
	$(GO) vet ./...

# gofmt must have nothing to say about tracked Go files.
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test:
	$(GO) test -race -timeout 20m ./...

build:
	$(GO) build -o bin/pave ./cmd/pave

# Runs pave with the example functions deployed.
up:
	$(GO) run ./cmd/pave up

# Benchmark: pave's gateway against a bare net/http handler, in one run.
bench:
	$(GO) run ./cmd/pave bench

# Kills the daemon with SIGKILL 20 times while asynchronous calls and events
# are in flight, and checks that nothing accepted is lost or run twice
# (the suite runs 3 cycles); and restarts it inside a real schedule tick.
SOAK_CYCLES ?= 20
soak:
	PAVE_SOAK_CYCLES=$(SOAK_CYCLES) $(GO) test -race -count=1 -timeout 60m -run '^(TestKillDuringAsyncWork|TestScheduleRunsOncePerTickAcrossARestart)$$' -v ./internal/daemon/

# Longer fuzzing of every parser: every Fuzz target in the module, FUZZTIME
# each.
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh
