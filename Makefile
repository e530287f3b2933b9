# The two commands of the quick start, plus the checks CI runs.
#   make dev    the whole service on http://localhost:3001 (PORT overrides).
#               Make passes its environment (and VAR=value arguments) to
#               the dev server, which reads e.g. WEBHOOK_RETRY_SCHEDULE_SECONDS
#               (a compressed retry schedule: WEBHOOK_RETRY_SCHEDULE_SECONDS=1,2,3 make dev),
#               DEV_WEBHOOK_URL, GEMINI_API_KEY, MOTO_PORT, DEV_METRICS=emf
#               (every metric line as Lambda writes it, instead of one line a minute).
#   make test   every test, against a moto server the tests start themselves,
#               then the Python and TypeScript clients' suites against a
#               local stack they start (test-clients)
#   make ci     everything CI runs (.ci/run is `make ci` from a clean clone)

SHELL := /bin/bash
PYTHON ?= python3
MOTO_VERSION := 5.2.1

.PHONY: sam-local-test
.PHONY: dev test test-clients python-deps fmt lint lint-docs ci bench bench-build bench-worker bench-coldstart bench-cost bench-webhooks bench-waiting bench-load bench-convert bench-sizes lambda-tools lint-template build-lambda lambda-smoke test-browser test-openapi

# Installs the AWS emulator unless the pinned version is already there.
python-deps:
	@$(PYTHON) -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$(MOTO_VERSION)')" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check -r devstack/requirements.txt

dev: python-deps
	cargo run --quiet -p devstack --bin dev-server

test: python-deps
	cargo test --workspace
	$(MAKE) test-clients

# The local stack's two binaries, as test-clients, test-browser and
# test-openapi run them (one command, so one feature resolution and one build).
STACK_BINARIES := cargo build --quiet -p devstack -p imagesaas-admin --bin dev-server --bin imagesaas-admin

# ---- The official clients (clients/): each one's own suite, against the
# in-process fake and then, through clients/live-stack.sh, against a fresh
# local stack (dev-server and its moto on free ports, stopped afterwards).
# The Python package is installed into the venv as a user would (`pip
# install ./clients/python`), again on every run so the suite tests this
# checkout's code; the TypeScript one builds with its pinned typescript and
# is type-checked with `tsc --noEmit`.
CLIENTS_VENV := .venv-clients

$(CLIENTS_VENV)/.installed: clients/python/pyproject.toml
	$(PYTHON) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/pip install --quiet --disable-pip-version-check "hatchling>=1.21,<2" "./clients/python[test]"
	touch $@

test-clients: python-deps $(CLIENTS_VENV)/.installed
	$(STACK_BINARIES)
	$(CLIENTS_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall ./clients/python
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error
	MOTO_PYTHON="$$(command -v $(PYTHON))" bash clients/live-stack.sh $(CLIENTS_VENV)/bin/pytest -q -p no:cacheprovider clients/python/tests
	MOTO_PYTHON="$$(command -v $(PYTHON))" bash clients/live-stack.sh sh -c 'cd clients/typescript && npm test && npm run test:live'

# Benchmarks print figures and write them to BENCHMARKS.md; they assert nothing.
# Each builds what all of them need, once (see bench-build).
bench: bench-coldstart bench-worker bench-cost bench-webhooks bench-waiting bench-load bench-convert bench-sizes bench-build-timings

# Every release binary of the benchmarks in one cargo run, so that their
# thin-LTO links (most of the build) overlap on all cores. One run is also
# one feature resolution: `devstack` and `bench` depend on every function,
# so the functions are built with the features those add to shared
# dependencies (hyper's server, serde_json's alloc); building them alone as
# well would compile the AWS SDK a second time, for binaries a few KB apart.
BENCH_BINARIES := dev-server bench-coldstart bench-hello bench-worker bench-cost bench-webhooks bench-waiting bench-load bench-convert
bench-build:
	cargo build --release --quiet $(addprefix -p ,$(FUNCTIONS)) -p devstack -p bench $(addprefix --bin ,$(FUNCTIONS) $(BENCH_BINARIES))

bench-worker: python-deps bench-build
	cargo run --release --quiet -p bench --bin bench-worker

# Beside the hello-world (bench-hello), under the benchmark's runtime API
# and under aws-lambda-rie from the SAM CLI venv (spelled out: VENV is set
# further down, after this rule is read).
bench-coldstart: python-deps bench-build .venv-lambda/.installed
	cargo run --release --quiet -p bench --bin bench-coldstart

bench-cost: python-deps bench-build
	cargo run --release --quiet -p bench --bin bench-cost

# Webhook latency on the local stack, alone and beside a hanging tenant.
bench-webhooks: python-deps bench-build
	cargo run --release --quiet -p bench --bin bench-webhooks

# Terminal write to the answer of a waiting client (Prefer: wait, ?wait=).
bench-waiting: python-deps bench-build
	cargo run --release --quiet -p bench --bin bench-waiting

# A 4K PNG converted to WebP and JPEG (images::output), in process.
bench-convert: bench-build
	cargo run --release --quiet -p bench --bin bench-convert

# wrk from Debian, installed if missing (needs root); the benchmark runs the
# dev-server release binary.
bench-load: python-deps bench-build
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	cargo run --release --quiet -p bench --bin bench-load

# The host release binaries and the arm64 artifacts. The arm64 ones are
# what Lambda runs and what the target is judged on, so they are built (or
# brought up to date) first: about 8 minutes cold.
bench-sizes: bench-build build-lambda
	$(PYTHON) bench/lambda_sizes.py --write-benchmarks $(FUNCTIONS)

# A cold `cargo build --release -p worker --timings` in its own target dir
# (target/timings, deleted first; target/release is not touched): the build
# time of each crate added since 1.0, from cargo's report. Several minutes.
.PHONY: bench-build-timings
bench-build-timings:
	$(PYTHON) bench/build_timings.py

# ---- Lambda artifacts (arm64) and the SAM template, without Docker.
VENV := .venv-lambda
FUNCTIONS := health generate list-jobs get-job cancel-job deliveries usage worker webhooks webhook-sender sweeper
LAMBDA_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1

$(VENV)/.installed: system-tests/lambda/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r system-tests/lambda/requirements.txt
	touch $@

lambda-tools: $(VENV)/.installed
	rustup target add aarch64-unknown-linux-gnu

# cfn-lint (no errors, no warnings) and SAM's own validation.
lint-template: lambda-tools
	$(LAMBDA_ENV) cfn-lint template.yaml
	$(LAMBDA_ENV) sam validate --lint

# Every function for arm64 in one cargo invocation (one shared target dir),
# then `sam build` (rust-cargolambda) packages them; prints zipped sizes.
build-lambda: lambda-tools
	$(LAMBDA_ENV) cargo lambda build --release --arm64 $(addprefix --bin ,$(FUNCTIONS))
	$(LAMBDA_ENV) sam build --beta-features
	@$(PYTHON) bench/lambda_sizes.py $(FUNCTIONS)

# The real Lambda runtime loop: `cargo lambda watch` serves the functions,
# `cargo lambda invoke` replays events/ against moto; the dev tenant's
# webhooks go to a receiver on loopback (set with imagesaas-admin).
lambda-smoke: lambda-tools python-deps
	MOTO_PYTHON="$$(command -v $(PYTHON))" $(LAMBDA_ENV) bash system-tests/lambda/lambda-smoke.sh

# `sam local invoke` on every sample event and `sam local start-api` with the
# quick-start curls, in Docker: Debian's docker.io and debootstrap (installed
# if missing; needs root) for a private bridge-less dockerd and the stand-in
# Lambda base image (see system-tests/lambda/sam-local-test.sh). The
# functions run as the x86_64 debug binaries `make test` has mostly built
# already (a few seconds of linking); see docs/deploying.md, "sam local",
# for why not arm64.
sam-local-test: $(VENV)/.installed python-deps
	@test -x /usr/bin/dockerd -a -x /usr/bin/docker -a -x /usr/sbin/debootstrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap; }
	cargo build --quiet -p devstack --bin dev-server -p imagesaas-admin --bin imagesaas-admin $(addprefix -p ,$(FUNCTIONS)) $(addprefix --bin ,$(FUNCTIONS))
	MOTO_PYTHON="$$(command -v $(PYTHON))" $(LAMBDA_ENV) bash system-tests/lambda/sam-local-test.sh

# ---- docs/api.html in a real browser, and the API fuzzed from docs/openapi.yaml.
DOCS_VENV := .venv-docs

# Debian's Chromium (installed if missing; needs root) driven by
# playwright-core from npm: never a downloaded browser.
test-browser: python-deps
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	cd system-tests/browser && npm ci --no-audit --no-fund --loglevel=error
	$(STACK_BINARIES)
	cd system-tests/browser && node --test

$(DOCS_VENV)/.installed: system-tests/openapi/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install --quiet --disable-pip-version-check -r system-tests/openapi/requirements.txt
	touch $@

# docs/API.md and docs/openapi.yaml say the same: every operation, error
# code, field, limit and default of the spec is in the prose and the prose
# names nothing the spec lacks; links in the docs resolve inside the
# repository.
lint-docs: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/python docs/check_api_md.py

# The spec validates, its examples are valid against their schemas, a
# client generated from it (openapi-python-client, pinned) is clean (no
# repeated or unnamed enums, no default sent unasked, every example loads),
# then schemathesis runs every operation against the local stack with all
# checks, bounded in examples and time. The first three need no Rust.
test-openapi: $(DOCS_VENV)/.installed python-deps
	$(DOCS_VENV)/bin/openapi-spec-validator docs/openapi.yaml
	$(DOCS_VENV)/bin/python system-tests/openapi/examples.py
	$(DOCS_VENV)/bin/python system-tests/openapi/generated_client.py
	$(STACK_BINARIES)
	MOTO_PYTHON="$$(command -v $(PYTHON))" PATH="$(CURDIR)/$(DOCS_VENV)/bin:$$PATH" bash system-tests/openapi/schemathesis.sh

fmt:
	cargo fmt --all

# Format, lints, and the fuzz project's lock file against the workspace's.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PYTHON) fuzz/check-pins.py

# Every check, in order; the one list of CI's steps (.ci/run calls it).
ci:
	@echo "== make lint (cargo fmt --check, cargo clippy, fuzz pins)"
	$(MAKE) lint
	@echo "== make lint-docs (docs/API.md in step with docs/openapi.yaml; links and paths in the docs)"
	$(MAKE) lint-docs
	@echo "== make lint-template (cfn-lint, sam validate --lint)"
	$(MAKE) lint-template
	@echo "== make test"
	$(MAKE) test
	@echo "== make build-lambda (arm64)"
	$(MAKE) build-lambda
	@echo "== make lambda-smoke (cargo lambda watch + invoke)"
	$(MAKE) lambda-smoke
	@echo "== make sam-local-test (sam local invoke + start-api in a bridge-less dockerd)"
	$(MAKE) sam-local-test
	@echo "== make test-browser (docs/api.html in Chromium)"
	$(MAKE) test-browser
	@echo "== make test-openapi (spec validation, examples, generated client + schemathesis)"
	SCHEMATHESIS_MAX_TIME=180 $(MAKE) test-openapi
	@echo "== make fuzz (cargo-fuzz on stable, 6 targets from the committed corpus)"
	FUZZ_SECS=15 $(MAKE) fuzz

# ---- Coverage-guided fuzzing: cargo-fuzz (libFuzzer) on the stable
# toolchain. Without a sanitizer (`-s none`) cargo-fuzz passes only stable
# `-C` flags: no nightly, no RUSTC_BOOTSTRAP (the code under test has no
# `unsafe` for a sanitizer to watch). Each target runs FUZZ_SECS seconds
# from the committed corpus, which it only reads (new inputs go to
# fuzz/target/corpus); a crash or a hang fails the run, prints the end of
# its log and leaves the input in fuzz/artifacts/<target>/. The first build
# instruments every dependency into fuzz/target and takes minutes.
.PHONY: fuzz
CARGO_FUZZ_VERSION := 0.13.1
FUZZ_SECS ?= 20
FUZZ_TARGETS := submit_request cursor netguard request_params sqs_message stream_record

fuzz:
	@cargo fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz $(CARGO_FUZZ_VERSION)' \
		|| cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	cd fuzz && cargo fuzz build -s none
	@cd fuzz && for target in $(FUZZ_TARGETS); do \
		mkdir -p target/corpus/$$target; \
		log=target/$$target.log; \
		if cargo fuzz run -s none $$target target/corpus/$$target corpus/$$target -- \
			-max_total_time=$(FUZZ_SECS) -timeout=10 >$$log 2>&1; then \
			echo "fuzz $$target: $$(grep -m1 -o 'Done [0-9]* runs in [0-9]* second(s)' $$log)"; \
		else \
			tail -n 40 $$log; echo "fuzz $$target: FAILED (log: fuzz/$$log)"; exit 1; \
		fi; \
	done
