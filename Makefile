# The two commands: `make run` (the whole app) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run test browser lint format check bench histories clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

run: install
	$(BIN)/python manage.py up

test: install browser
	$(BIN)/python -m pytest

# Browser tests drive Debian's chromium through Playwright; nothing is downloaded by Playwright.
# Command slices need tmux on the worker (execute_slice_command checks for it); the deploy/
# units are checked with systemd-analyze (package systemd).
browser:
	@{ test -x $(CHROMIUM) && command -v tmux >/dev/null && command -v systemd-analyze >/dev/null; } || { \
		echo "Installing Debian's chromium, tmux and systemd for the tests..."; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium tmux systemd >/dev/null; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Every benchmark (docs/performance.md): bench/results/latest.json and one table.
bench: install
	$(BIN)/python bench/run_all.py

# Record the workflow histories the replay test checks (docs/upgrades.md), e.g.
# `make histories ARGS="--only epochs"`.
histories: install
	$(BIN)/python manage.py record_histories $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
