# Bellhop. `make run` starts the single binary with demo data; `make test` runs everything.
GO        ?= go
BIN       ?= bin/bellhop
DATA_DIR  ?= ./data
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION ?= v0.8.2
# SQLite is cgo: a C compiler is needed (gcc, on every machine of this kind).
export CGO_ENABLED = 1

.PHONY: all run build test test-tools lint bench bench-compare clean chromium

all: lint test

## build: compile bin/bellhop
build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/bellhop

## run: build, seed the demo data (only if missing), serve on 127.0.0.1:8080
# It says what it does before the compile (silent otherwise for minutes), and
# once /readyz answers prints the URL, the demo accounts and what to try next.
# The demo passwords exist only in seed's output (a hash is stored), so they
# are shown on the run that seeds them.
run:
	@echo "make run: building $(BIN) (the first build compiles every dependency and takes about two minutes; later builds take seconds)"
	@$(MAKE) --no-print-directory build
	@seeded=$$($(BIN) seed --data-dir $(DATA_DIR)) || exit 1; echo "$$seeded"; \
	accounts=$$(echo "$$seeded" | sed -n 's|^demo \([a-z]*\) created: \([^ ]*\) / \([^ ]*\).*|  demo \1: \2  password \3|p'); \
	[ -n "$$accounts" ] || accounts="  demo admin: admin@bellhop.demo, demo guest: guest@bellhop.demo (their passwords were shown when $(DATA_DIR) was seeded; rm -rf $(DATA_DIR) to seed afresh, or $(BIN) users create-admin)"; \
	url=http://$${BELLHOP_SERVER_ADDR:-127.0.0.1:8080}; \
	( ready=; for i in $$(seq 300); do \
	    if command -v curl >/dev/null; then curl -fs -o /dev/null "$$url/readyz" && { ready=1; break; }; \
	    elif command -v wget >/dev/null; then wget -q -O /dev/null "$$url/readyz" && { ready=1; break; }; \
	    else sleep 2; ready=1; break; fi; \
	    sleep 0.2; \
	  done; \
	  [ -z "$$ready" ] || printf '\nBellhop is ready: %s  (API description: %s/api/docs)\n%s\nNext, in another terminal:\n  curl -s "%s/api/v1/cities?prefix=li"\nthen README.md, "Try it". Ctrl-C stops the server.\n\n' "$$url" "$$url" "$$accounts" "$$url" ) & \
	BELLHOP_LOG_FORMAT=$${BELLHOP_LOG_FORMAT:-text} exec $(BIN) serve --data-dir $(DATA_DIR)

## chromium: Debian's Chromium for the dashboard's browser tests (web/browsertest), installed when missing
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

## test: every test, with the race detector (end-to-end tests build and run the binary; the browser tests need chromium and npm)
test: test-tools chromium
	$(GO) test -race -count=1 -timeout 20m ./...

## test-tools: the real programs tests drive, installed when missing: pdftotext (poppler-utils,
## reads receipts back; apt needs root), jq (README's walkthrough, run by TestREADME_Walkthrough)
## and mailpit (a real SMTP server with an HTTP API)
MAILPIT_VERSION ?= v1.27.11
test-tools:
	@command -v pdftotext >/dev/null || { [ "$$(id -u)" = 0 ] && { apt-get install -y poppler-utils || { apt-get update && apt-get install -y poppler-utils; }; } ; } || echo "pdftotext missing (not root): the PDF read-back tests will skip"
	@command -v jq >/dev/null || { [ "$$(id -u)" = 0 ] && { apt-get install -y jq || { apt-get update && apt-get install -y jq; }; } ; } || echo "jq missing (not root): the README walkthrough test will skip"
	@command -v mailpit >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/mailpit" ] || $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

## lint: gofmt, go vet, staticcheck and platform/archtest (import rules and data ownership, README's module map)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(GO) test -count=1 ./platform/archtest/

## bench: Go benchmarks and a load run against a seeded server (figures for README's Performance)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./modules/search/... ./modules/auth/... ./platform/httpserver/
	$(GO) test -run '^$$' -bench Verify -benchmem -cpu 1 -count 1 ./platform/authn/
	$(GO) test -run '^$$' -bench OutboxToConsumer -benchtime 10000x -count 1 ./platform/events/
	$(GO) test -run '^$$' -bench RenderReceipt -benchmem -cpu 1 -count 1 ./modules/reporting/reportinglocal/
	$(GO) test -run '^$$' -bench Occupancy_AllHotels -benchtime 5x -count 1 ./modules/reporting/reportinglocal/
	$(GO) run ./cmd/bellhop-bench

## bench-compare: the in-package Go benchmarks at BASE (a git revision) and at the working tree,
## run alternately (COUNT rounds) so load on a shared machine hits both alike, compared by benchstat
BASE  ?= HEAD~1
COUNT ?= 6
BENCH_PKGS ?= ./modules/search/searchlocal/ ./modules/search/searchhttp/ ./modules/auth/authlocal/ ./platform/events/
bench-compare:
	@command -v benchstat >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/benchstat" ] || $(GO) install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
	@set -e; out=$$(mktemp -d); trap 'git worktree remove --force "$$out/base" >/dev/null 2>&1; rm -rf "$$out"' EXIT; \
	git worktree add --detach -q "$$out/base" $(BASE); \
	for p in $(BENCH_PKGS); do n=$$(echo $$p | tr -c 'a-z0-9\n' _); \
	  (cd "$$out/base" && $(GO) test -c -o "$$out/base-$$n" $$p) && $(GO) test -c -o "$$out/head-$$n" $$p; done; \
	for i in $$(seq $(COUNT)); do for v in base head; do for p in $(BENCH_PKGS); do n=$$(echo $$p | tr -c 'a-z0-9\n' _); \
	  (cd $$p && "$$out/$$v-$$n" -test.run '^$$' -test.bench . -test.benchmem -test.benchtime 1s >> "$$out/$$v.txt"); done; done; done; \
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" benchstat "$(BASE)=$$out/base.txt" "working tree=$$out/head.txt"

clean:
	rm -rf bin
