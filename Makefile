# Bellhop. `make run` starts the single binary with demo data; `make test` runs everything.
GO        ?= go
BIN       ?= bin/bellhop
DATA_DIR  ?= ./data
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION ?= v0.8.2
# SQLite is cgo: a C compiler is needed (gcc, on every machine of this kind).
export CGO_ENABLED = 1

.PHONY: all run build test test-tools lint bench bench-compare clean chromium fuzz split split-tools

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

## split: the whole system split into processes (configs/split.yaml) under goreman: a NATS
## server, the gateway on 127.0.0.1:8080 (dashboard, public API) and a process per module.
## Data, configuration and generated secrets under data/split; Ctrl-C stops everything.
split: build split-tools
	@exec $(BIN) split --topology configs/split.yaml --dir $(DATA_DIR)/split

## split-tools: nats-server and goreman (the version go.mod pins), installed when missing
NATS_SERVER_VERSION ?= v2.15.2
split-tools:
	@command -v nats-server >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/nats-server" ] || $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
	@command -v goreman >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/goreman" ] || $(GO) install github.com/mattn/goreman

## chromium: Debian's Chromium for the dashboard's browser tests (web/browsertest), installed when missing
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

## test: every test, with the race detector (end-to-end tests build and run the binary; the browser tests need chromium and npm)
test: test-tools chromium
	$(GO) test -race -count=1 -timeout 20m ./...

## test-tools: the real programs tests drive, installed when missing: pdftotext (poppler-utils,
## reads receipts back; apt needs root), jq (README's walkthrough, run by TestREADME_Walkthrough),
## nginx with its Lua module (configs/nginx, run by TestEdge_NginxInFrontOfTheSplitDeployment); a
## policy-rc.d keeps the package from starting Debian's own nginx service on port 80 while it installs
## and mailpit (a real SMTP server with an HTTP API)
MAILPIT_VERSION ?= v1.27.11
test-tools:
	@command -v pdftotext >/dev/null || { [ "$$(id -u)" = 0 ] && { apt-get install -y poppler-utils || { apt-get update && apt-get install -y poppler-utils; }; } ; } || echo "pdftotext missing (not root): the PDF read-back tests will skip"
	@command -v jq >/dev/null || { [ "$$(id -u)" = 0 ] && { apt-get install -y jq || { apt-get update && apt-get install -y jq; }; } ; } || echo "jq missing (not root): the README walkthrough test will skip"
	@{ test -x /usr/sbin/nginx && test -f /usr/lib/nginx/modules/ngx_http_lua_module.so; } || { [ "$$(id -u)" = 0 ] && { nginx_install() { printf "#!/bin/sh\nexit 101\n" > /tmp/bellhop-policy-rc.d; chmod +x /tmp/bellhop-policy-rc.d; [ -e /usr/sbin/policy-rc.d ] || { cp /tmp/bellhop-policy-rc.d /usr/sbin/policy-rc.d; added=1; }; apt-get install -y nginx libnginx-mod-http-lua; rc=$$?; [ -z "$${added:-}" ] || rm -f /usr/sbin/policy-rc.d; return $$rc; }; nginx_install || { apt-get update && nginx_install; }; } ; } || echo "nginx with the Lua module missing (not root): the edge test will skip"
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
	BELLHOP_WEB_LOAD_SECONDS=20 $(GO) test -count=1 -run 'TestDashboard_ServerTimePerPage' -v ./cmd/bellhop/ | grep -E 'page|pages/s'
	$(GO) test -count=1 -run '^$$' -bench DashboardPage -benchtime 300x ./cmd/bellhop/

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

## fuzz: each Go fuzz target for FUZZTIME (default 2m; e.g. make fuzz FUZZTIME=10m). Their seed
## corpora run in make test; a crash is saved under the package's testdata/fuzz and fails the run.
FUZZTIME ?= 2m
FUZZ_PARALLEL ?= 1
FUZZ_TARGETS = \
	FuzzBindJSON:./platform/httpserver/ \
	FuzzAppendJSON:./platform/httpserver/ \
	FuzzStatusError:./platform/httpclient/ \
	FuzzParse:./platform/civil/ \
	FuzzMoney:./platform/money/ \
	FuzzParseEvent:./platform/events/ \
	FuzzVerify:./platform/authn/ \
	FuzzDecodeCursor:./modules/search/searchlocal/ \
	FuzzDecodeCursor:./modules/bookings/bookingslocal/ \
	FuzzDecodeCursor:./modules/payments/paymentslocal/
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  name=$${t%%:*}; pkg=$${t#*:}; echo "== $$name $$pkg ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel $(FUZZ_PARALLEL) $$pkg; \
	done

clean:
	rm -rf bin
