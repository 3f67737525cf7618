# Set-up and the two everyday commands: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DATA ?=
# Torch's CPU build pinned for machines without a GPU; this version is the local wheel here.
TORCH_CPU_VERSION ?= 2.13.0

.PHONY: install test demo lint examples benchmark clean

$(VENV)/.installed: pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  if $(PYTHON) -c "import torch" >/dev/null 2>&1; then \
	    echo "Using the working torch of $(PYTHON) (system site-packages)"; \
	    $(PYTHON) -m venv --system-site-packages $(VENV); \
	  else $(PYTHON) -m venv $(VENV); fi; \
	fi
	@if $(PY) -c "import torch" >/dev/null 2>&1; then \
	  echo "torch $$($(PY) -c 'import torch; print(torch.__version__)') already installed: skipping"; \
	elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	  echo "GPU found: installing torch with CUDA"; $(PIP) install torch; \
	else \
	  echo "No GPU: installing the CPU build of torch"; \
	  $(PIP) install --no-index --no-deps torch==$(TORCH_CPU_VERSION) \
	    && $(PIP) install torch==$(TORCH_CPU_VERSION) \
	    || $(PIP) install torch --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(PIP) install -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q -x --durations=15

lint: install
	$(VENV)/bin/ruff check sklearn_ecg tests examples benchmarks

demo: install
	$(PY) examples/demo.py $(if $(DATA),--data $(DATA),)

examples: install
	SKLEARN_ECG_FAST=1 $(PY) -m pytest -q tests/test_examples.py

benchmark: install
	$(PY) -m benchmarks.run_quality $(if $(DATA),--data $(DATA),)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
