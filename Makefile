# theory-testbed: the front door. `make` regenerates every result, figure and the validation report;
# `make test` runs the fast CPU suite. Both set up .venv on first use (Python 3.11, pinned requirements.lock).
# On a machine with its own interpreter (the GPU box), skip the venv: `make test-gpu PYTHON=python3`.

VENV       := .venv
VENV_PY    := $(VENV)/bin/python
PYTHON     ?= $(VENV_PY)
BOOTSTRAP  ?= python3.11
# Every registered system (sims.SYSTEMS; sims/__init__.py imports nothing, so any python3 reads it before set-up).
SYSTEMS    ?= $(shell PYTHONPATH=$(CURDIR) python3 -c 'import sims; print(*sims.SYSTEMS)')
JOBS       ?= 2
# pytest-xdist workers for the test suite when the interpreter has xdist (the venv does; a bare python3 may not).
TEST_WORKERS ?= 2
XDIST = $$($(PYTHON) -c 'import xdist' 2>/dev/null && echo "-n $(TEST_WORKERS) --dist loadfile")
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export MPLBACKEND := Agg
# Bytecode is cached (an environment that sets PYTHONDONTWRITEBYTECODE would recompile every import of every run).
unexport PYTHONDONTWRITEBYTECODE
# glibc malloc: keep freed memory for reuse instead of returning it to the kernel and faulting it in again (the
# simulators allocate many large temporaries). Measured on a hierarchical run (d = 24, 8 seeds): system time
# 1.39 s -> 0.44 s, minor page faults 404k -> 141k, peak memory 0.80 -> 0.67 GB. 32 MiB is glibc's largest
# accepted mmap threshold on 64-bit.
export MALLOC_MMAP_THRESHOLD_ := 33554432
export MALLOC_TRIM_THRESHOLD_ := 4294967296
export MALLOC_TOP_PAD_ := 268435456
# and back its memory with transparent huge pages where the kernel offers them on request (THP "madvise"; glibc
# >= 2.35, older ones ignore the tunable): a 2 MiB fault instead of 512 small ones. Measured on three report-size
# runs (grokking, hierarchical d = 32, icl; one thread, two repeats): minor page faults 3.3M -> 0.12M, system
# time 6.8 -> 3.5 s, wall 62.6-65.6 -> 58.8-59.3 s. Memory contents are untouched: results are bit for bit the same.
export GLIBC_TUNABLES := $(if $(GLIBC_TUNABLES),$(GLIBC_TUNABLES):)glibc.malloc.hugetlb=1

# The venv is a prerequisite only when we use it.
SETUP := $(if $(filter $(VENV_PY),$(PYTHON)),$(VENV)/.installed,)

.PHONY: all setup validate figures report test test-slow test-gpu bench notebooks docs gpu-preset mutation clean-results help
all: validate figures report

help:
	@echo "make            set up, run what is missing, regenerate figures and reports/VALIDATION.md"
	@echo "make test       fast CPU test suite (what CI runs)"
	@echo "make validate   run every claim at report size (cached in results/)"
	@echo "make figures    redraw figures/out/ from the results store"
	@echo "make report     print the validation summary"
	@echo "make test-slow  long statistical tests;  make test-gpu  CUDA tests (skipped without a GPU)"
	@echo "make bench      benchmarks (ratios against a baseline in the same run)"
	@echo "make notebooks  build and execute the coursework notebooks (demos/ -> notebooks/)"
	@echo "make docs       API reference from the docstrings (docs/api/index.html)"
	@echo "make gpu-preset every claim at GPU size on CUDA (reports/validation-gpu.json)"
	@echo "make mutation   plant realistic bugs, one at a time, and report which claims catch them (long)"
	@echo "Variables: PYTHON=python3 (skip the venv), SYSTEMS='icl lssl', JOBS=2"

setup: $(SETUP)

# Set-up: uv installs the lock, exact pins. Torch must be the CPU build: uv takes it from a local wheel of the
# pinned version in $(PIP_FIND_LINKS) (pip's find-links on these machines) when one is there, passed with
# --find-links; otherwise pip installs torch first (pip's configuration serves the local CPU build; uv, not looking
# there, would download a multi-gigabyte CUDA build) and uv the rest with torch already satisfied. Measured on the
# busy 2-core machine: torch by pip 32 s, by uv from the local wheel 5 s; the earlier pip-then-uv set-up took 80 s
# against 191 s with pip alone. Without uv (no index, a failed install) pip installs the same lock.
UV_VERSION := 0.13.9
TORCH_PIN := $(shell grep -E '^torch==' requirements.lock)
LOCAL_TORCH := $(if $(PIP_FIND_LINKS),$(firstword $(wildcard $(PIP_FIND_LINKS)/torch-$(subst torch==,,$(TORCH_PIN))+cpu-*.whl)))
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(VENV_PY) || $(BOOTSTRAP) -m venv $(VENV)
	{ $(VENV_PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
		&& $(if $(LOCAL_TORCH),,$(VENV_PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_PIN)" &&) \
		$(VENV)/bin/uv pip install --quiet --python $(VENV_PY) $(if $(LOCAL_TORCH),--find-links $(PIP_FIND_LINKS)) \
			-r requirements.lock; } \
		|| $(VENV_PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
		|| $(VENV_PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

validate: $(SETUP)
	$(PYTHON) -m claims $(SYSTEMS) --size report --jobs $(JOBS)

figures: $(SETUP)
	$(PYTHON) -m figures $(SYSTEMS) --jobs $(JOBS)

report: $(SETUP)
	@$(PYTHON) -m claims.summary $(SYSTEMS)

test: $(SETUP)
	$(PYTHON) -m pytest -q -m "not slow and not gpu" -p no:cacheprovider $(XDIST)

test-slow: $(SETUP)
	$(PYTHON) -m pytest -q -m "slow" -p no:cacheprovider $(XDIST)

test-gpu: $(SETUP)
	THEORY_TESTBED_DEVICE=cuda $(PYTHON) -m pytest -q -m "gpu" -p no:cacheprovider

# float64: the claims' tolerance rules are stated for float64 checking paths (admm's paper scale diverges in float32).
gpu-preset: $(SETUP)
	$(PYTHON) -m claims $(SYSTEMS) --size gpu --device cuda --dtype float64

# Long (tens of minutes): every mutant of mutation/mutants_<system>.py against its system's claims at test and
# report size; resumes where it stopped. Writes reports/MUTATION.md.
mutation: $(SETUP)
	$(PYTHON) -m mutation $(SYSTEMS) --jobs $(JOBS)

bench: $(SETUP)
	$(PYTHON) -m bench $(SYSTEMS)

# Build notebooks/*.ipynb from demos/*.py and execute each on a fresh kernel (plots inline; needs the coursework extra).
notebooks: $(SETUP)
	$(PYTHON) scripts/build_notebooks.py

# The API reference (docs/api/, ignored by git) from the docstrings of theory, sims and claims (needs the docs extra).
docs: $(SETUP)
	$(PYTHON) -m pdoc --math --docformat numpy --output-directory docs/api theory sims claims

clean-results:
	rm -rf results figures/out/.stamps
