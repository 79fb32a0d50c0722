# erlangen: two commands on a fresh machine, `make demo` and `make test`.
# Both create .venv when missing, install torch==2.13.0 first (the CPU build on these
# machines; an unpinned torch would pull a multi-GB CUDA build), then the package with its
# `test` extra, which includes the `train` extra the demo needs (lightning, matplotlib,
# mlxtend) and the linters. The install is skipped when pyproject.toml has not changed since
# the last one.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
TORCH_PIN := torch==2.13.0
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test test-all bench lint format clean data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "erlangen needs Python >= 3.10, found " + sys.version' 
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q $(TORCH_PIN)
	$(VENV)/bin/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/erlangen demo $(DEMO_ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-all: $(STAMP)
	$(VENV)/bin/python -m pytest -m "" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

# Fashion-MNIST, full and offline (60,000 / 10,000 IDX files in /usr/share/datasets/fashion-mnist,
# MIT licence, about 31 MB), from Debian's package: the `fashion` and `rotated-fashion` tasks read
# it; `make demo` and `make test` do not need it. Needs root (sudo when not root).
FASHION_DIR := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

data:
	@if [ -f $(FASHION_DIR)/t10k-labels-idx1-ubyte.gz ]; then \
		echo "Fashion-MNIST already in $(FASHION_DIR)"; \
	else \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dataset-fashion-mnist; \
	fi
	@ls $(FASHION_DIR)

# Peer libraries for side-by-side benchmarks live in their own environment so that the core
# one stays clean: escnn needs a Fortran compiler (py3nj) and numpy<2 (lie_learn's compiled
# extension); with numpy<2, pandas must stay <3, and escnn 1.0.11 hands np.matrix to
# scikit-learn's randomized_svd, which scikit-learn >= 1.7 rejects (D4 convolutions fail to build).
# clifford pulls numba.
$(BENCH_STAMP): pyproject.toml
	command -v gfortran >/dev/null || (command -v apt-get >/dev/null && apt-get install -y -q gfortran) || echo "warning: no gfortran; escnn may fail to build"
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q $(TORCH_PIN)
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[bench]"
	$(BENCH_VENV)/bin/python -m pip install -q "numpy<2" "pandas<3" "scikit-learn<1.7" escnn || echo "warning: escnn did not install; its benchmarks fall back to plain-torch references"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/erlangen bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .import_linter_cache
