# The two commands: `make run` (the whole platform on the embedded stack) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit test-contract test-integration token bench bench-scheduler bench-events \
        bench-procurement bench-observatory bench-webhooks rebuild web-assets geo-data geo-shapes schemas \
        deadletters compose-check clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	@touch $(STAMP)

install: $(STAMP)  # and the browser of the observatory page's tests, where it is missing (never skipped)
	@test -x /usr/bin/chromium || { echo "installing chromium (the observatory page's browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "chromium is missing and cannot be installed (not root, no sudo): apt-get install chromium" >&2; \
	    exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y --no-install-recommends chromium; }

run: install
	$(PY) -m runtime.stack run

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit tests/contract

test-integration: install
	$(PY) -m pytest tests/integration

token: install
	@$(PY) -m runtime.auth

schemas: install
	$(PY) -m contracts.schemas write

deadletters: install
	$(PY) -m runtime.deadletters list

bench: install
	$(PY) -m bench.backbone

bench-scheduler: install
	$(PY) -m bench.scheduler

bench-events: install
	$(PY) -m bench.events

bench-procurement: install
	$(PY) -m bench.procurement

web-assets: install  # re-download the observatory page's pinned Vega builds from npm (they are committed)
	$(PY) -m services.observatory.entrypoints.assets

bench-observatory: install
	$(PY) -m bench.observatory

rebuild: install  # make rebuild SERVICE=observatory [PROJECTIONS="ledger"] (all of them without PROJECTIONS)
	$(PY) -m runtime.rebuild $(SERVICE) $(if $(PROJECTIONS),$(PROJECTIONS),--all)
bench-webhooks: install  # 20,000 events to 10 local endpoints, one down, the webhooks process killed mid-run
	$(PY) -m bench.webhooks

geo-data: install  # rebuild reference/data (communes, départements, EPCI) from their open sources
	$(PY) -m reference.build_geo

geo-shapes: install  # rebuild reference/data/departements.geojson.gz (département boundaries, Natural Earth)
	$(PY) -m reference.build_shapes

clean:
	rm -rf $(VENV) .pytest_cache

compose-check: install
	$(PY) -m pytest tests/contract/test_deploy.py
