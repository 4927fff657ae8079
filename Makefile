# textpilot — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_USER ?= demo@textpilot.local
DEMO_PASSWORD ?= textpilot-demo
DEMO_PROFILES ?= 5000

.PHONY: install install-test demo test bench migrate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/textpilot migrate --noinput

demo: migrate
	$(BIN)/textpilot seed_demo --store demo --profiles $(DEMO_PROFILES) --orders $$(( $(DEMO_PROFILES) * 3 / 2 )) \
		--events $$(( $(DEMO_PROFILES) * 12 )) --seed 42 --user $(DEMO_USER) --password $(DEMO_PASSWORD)
	$(BIN)/textpilot serve --login "$(DEMO_USER) / $(DEMO_PASSWORD)"

test: install-test
	bash scripts/run-tests.sh

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var artifacts
