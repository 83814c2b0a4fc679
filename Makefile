# Bellhop. `make run` starts the single binary with demo data; `make test` runs everything.
GO        ?= go
BIN       ?= bin/bellhop
DATA_DIR  ?= ./data
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION ?= v0.8.2
# SQLite is cgo: a C compiler is needed (gcc, on every machine of this kind).
export CGO_ENABLED = 1

.PHONY: all run build test lint bench clean chromium

all: lint test

## build: compile bin/bellhop
build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/bellhop

## run: build, seed the demo catalog (only if missing), serve on 127.0.0.1:8080
run: build
	$(BIN) seed --data-dir $(DATA_DIR)
	BELLHOP_LOG_FORMAT=$${BELLHOP_LOG_FORMAT:-text} $(BIN) serve --data-dir $(DATA_DIR)

## chromium: Debian's Chromium for the dashboard's browser tests (web/browsertest), installed when missing
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

## test: every test, with the race detector (end-to-end tests build and run the binary; the browser tests need chromium and npm)
test: chromium
	$(GO) test -race -count=1 -timeout 20m ./...

## lint: gofmt, go vet, staticcheck and the import rules of ARCHITECTURE.md
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
	$(GO) run ./cmd/bellhop-bench

clean:
	rm -rf bin
