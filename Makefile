# Two commands on a fresh machine: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8501

.PHONY: setup browser ingest run chat test lint bench eval clean

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

# Cleaning measured on real publishers' pages (kept/removed for the .txt and .html paths), when
# the shared evaluation folder is present beside this checkout; see its README.
CLEANING_PAGES ?= ../shared/eval/cleaning_pages
.PHONY: eval-cleaning
eval-cleaning: setup
	@if [ -f $(CLEANING_PAGES)/score.py ]; then $(BIN)/python $(CLEANING_PAGES)/score.py; \
	else echo "eval-cleaning: $(CLEANING_PAGES) is not here, nothing to score."; fi
