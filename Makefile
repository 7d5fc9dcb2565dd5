# Two commands do all the set-up: `make demo` and `make test` (each creates .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint lock clean browser

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "framewatch needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/framewatch demo --out framewatch-demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || (apt-get update && apt-get install -y chromium); \
	else echo "Chromium is missing: run 'sudo apt-get install -y chromium' (tests/test_browser.py is skipped without it)"; fi

test: lint browser
	$(BIN)/pytest

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/framewatch-lock && $(PYTHON) -m venv /tmp/framewatch-lock
	/tmp/framewatch-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/framewatch-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) framewatch-demo .pytest_cache .ruff_cache .mypy_cache
