# Each target calls one real command; `make lab` and `make test` set up .venv first when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_FLAGS ?= --no-browser --ip=127.0.0.1 --allow-root

.PHONY: lab test exercises execute bench book pdf clean

lab: $(VENV)/.installed  # copies new exercises into work/ (never over a file there), prints their status
	$(BIN)/python -m latent_course lab $(LAB_FLAGS)

test: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/python -m latent_course exercises --check && $(BIN)/python -m pytest

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
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV)
