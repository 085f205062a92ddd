# Each target calls one real command; `make lab` and `make test` set up .venv first when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_FLAGS ?= --no-browser --ip=127.0.0.1 --allow-root
# The exact versions CI tests; `make test CONSTRAINTS=` (on a new .venv) installs the newest releases instead.
CONSTRAINTS ?= .ci/constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS))
# pytest-xdist workers for `make test`: 2 suits a 2-core machine; JOBS=0 runs everything in one process. Whole files go
# to the workers in the order tests/conftest.py gives them (the slow ones first).
JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder

.PHONY: lab test test-fast exercises execute bench book pdf clean

lab: $(VENV)/.installed  # copies new exercises into work/ (never over a file there), prints their status
	$(BIN)/python -m latent_course lab $(LAB_FLAGS)

test: $(VENV)/.test-installed  # everything CI runs: every test, every solved notebook, the book, Spark
	$(BIN)/ruff check . && $(BIN)/python -m latent_course exercises --check && $(PYTEST) --durations=15

test-fast: $(VENV)/.test-installed  # the same without the tests marked slow (notebooks, browsers, Spark, child processes)
	$(BIN)/ruff check . && $(BIN)/python -m latent_course exercises --check && $(PYTEST) -m "not slow"

exercises: $(VENV)/.installed
	$(BIN)/python -m latent_course exercises

execute: $(VENV)/.installed
	$(BIN)/python -m latent_course execute $(NAMES)

bench: $(VENV)/.installed
	for script in benchmarks/[a-z]*.py; do $(BIN)/python $$script || exit 1; done

book: $(VENV)/.book-installed  # the course as a website in build/book/ (offline, warnings are errors)
	rm -rf build/book && $(BIN)/python -m sphinx -E -W --keep-going -q -c book . build/book

pdf: book  # the lecture notes as one PDF in build/notes.pdf, printed from the site by Chromium
	$(BIN)/python book/pdf.py

$(VENV)/.book-installed: $(VENV)/.installed
	$(PIP_INSTALL) -e ".[book]"
	touch $@

# The course with the extras each stamp needs, in one pip run (faster than the course first, then the extras); the
# test extras include what .installed installs, so both stamps are set.
$(VENV)/.installed: EXTRAS := test
$(VENV)/.test-installed: EXTRAS := test,spark,book
$(VENV)/.installed $(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e ".[$(EXTRAS)]"
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV)
