# The two commands of the quick start, plus the checks CI runs.
#   make dev    the whole service on http://localhost:3001 (PORT overrides)
#   make test   every test, against a moto server the tests start themselves

SHELL := /bin/bash
PYTHON ?= python3
MOTO_VERSION := 5.2.1

.PHONY: dev test python-deps fmt lint ci bench-worker

# Installs the AWS emulator unless the pinned version is already there.
python-deps:
	@$(PYTHON) -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$(MOTO_VERSION)')" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check -r local/requirements.txt

dev: python-deps
	cargo run --quiet -p local --bin dev-server

test: python-deps
	cargo test --workspace

# Benchmarks print figures and write them to BENCHMARKS.md; they assert nothing.
bench-worker: python-deps
	cargo run --release --quiet -p local --bin bench-worker

fmt:
	cargo fmt --all

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

ci: lint test
