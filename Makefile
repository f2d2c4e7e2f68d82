# Tuku — make run serves on http://127.0.0.1:8080 with data in ./tuku-data;
# make test runs everything (installing what it needs first).
GO       ?= go
GOBIN    := $(shell $(GO) env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)
DATA     ?= ./tuku-data
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X tuku/internal/app.Version=$(VERSION)

.PHONY: all deps build run test test-short vet bench fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tuku ./cmd/tuku

run: build
	./bin/tuku serve --data $(DATA)

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# The whole suite with real PostgreSQL and a real S3 server (versitygw).
test:
	@scripts/deps.sh test
	@scripts/s3.sh
	@$(MAKE) --no-print-directory vet
	@pg="$$(scripts/pg.sh)"; \
	  echo "test servers: PostgreSQL $$(psql "$$pg" -Atc 'SHOW server_version' 2>/dev/null) at $$pg;" \
	    "S3: $$(go version -m "$$(command -v versitygw)" 2>/dev/null | awk '$$1 == "mod" { print $$2, $$3 }') (started per test);" \
	    "chromium: $$(chromium --version 2>/dev/null || echo missing)"; \
	  TUKU_TEST_POSTGRES="$$pg" $(GO) test -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory fuzz

test-short:
	$(GO) test -count=1 -short ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one package and one
# target per run), after its seed corpus in testdata/fuzz. An input that
# fails is saved under testdata/fuzz/<Target>/ and fails the run: commit it
# with the fix. FUZZTIME=5m make fuzz for a longer session.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./internal/imaging:FuzzSniff \
	./internal/extract:FuzzExtract \
	./internal/service:FuzzCleanFilename \
	./internal/service:FuzzTokenParse \
	./internal/httpapi/listquery:FuzzListQuery

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

bench: build
	@scripts/deps.sh bench
	scripts/bench.sh

clean:
	rm -rf bin
