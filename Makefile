# trialdesk: `make demo` runs the main job, `make test` the tests. Both build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo keeps its personal-data key beside its database; a real site keeps it elsewhere.
demo serve: export TRIALDESK_PERSONAL_DATA_KEY_FILE ?= $(CURDIR)/var/personal-data.key
# The demo server runs without two-factor authentication (a banner says so on every page); `make serve` keeps it.
demo: export TRIALDESK_REQUIRE_2FA = 0

.PHONY: demo test lint serve clean docs messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/trialdesk demo --reset
	$(BIN)/trialdesk serve --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(BIN)/trialdesk serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -m trialdesk.docs

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# The Danish catalogue: extract the UI's messages into src/trialdesk/locale/da/LC_MESSAGES/django.po (kept
# translations, new ones empty) and compile django.mo, in pure Python (no GNU gettext needed). Commit both.
messages: $(STAMP)
	$(BIN)/python -m trialdesk.web.i18n_catalog
