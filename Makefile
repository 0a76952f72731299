# Two commands do everything (see README): `make book` and `make test`.
# Each sets up what it needs first: a .venv with the package, system tools, the data.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
APT_PACKAGES := chromium chromium-driver dataset-fashion-mnist bubblewrap util-linux slurm-wlm munge

# One BLAS thread per process: pytest runs $(JOBS) workers on 2 cores, and OpenBLAS' spinning
# workers fighting for them slow NumPy training many times over (bench/bench_mlp.py shows it).
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: book test setup system-deps data lint pytest bench clean exercises student-repo

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages: headless Chromium for the browser test, Fashion-MNIST for labs and book,
# SLURM and munge for the labs' tests on a private one-node cluster (tests/test_lab_slurm.py).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "Need Debian packages:$$missing (run as root: apt-get install$$missing)"; exit 0; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

data: setup system-deps
	$(BIN)/optreg data fetch

lint: setup
	$(BIN)/ruff check src tests bench autograder
	$(BIN)/ruff format --check src tests bench autograder

pytest: setup system-deps data
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile

test: lint pytest

book: setup system-deps data
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

exercises: setup
	$(BIN)/python -m optreg.grading.release

bench: setup data
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

# The student edition of this (instructor) repository: no solutions, no hidden tests.
student-repo: setup
	$(BIN)/python -m optreg.publish $(or $(STUDENT_DIR),_build/student)

clean:
	rm -rf _build .pytest_cache
