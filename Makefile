# Two commands do all set-up from a clean clone: `make run` (the pipeline on the live
# VATSIM feeds) and `make test` (the suite). `make demo` runs it offline.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VATSIM_HOME ?= $(CURDIR)/.vatsim
PROFILE ?= sqlite
# The Dagster UI; `make run PORT=3001` when 3000 is taken (init refuses a taken port).
PORT ?= 3000
# The demo's local feed server (feeds and the map-data release of its simulated world).
DEMO_PORT ?= 8765
DEMO_PILOTS ?= 300
DEMO_CONTROLLERS ?= 40
# The demo's maintenance runs every 5 minutes and prunes runs older than 10 minutes, so
# that its effect shows within a quarter of an hour instead of after a week.
DEMO_MAINTENANCE_CRON ?= */5 * * * *
DEMO_RUN_RETENTION_DAYS ?= 0.007
# The demo refreshes its forecasts every minute (5 by default), so that the dashboard's
# forecast panels fill within a minute of the start.
DEMO_FORECAST_CRON ?= * * * * *
PYTEST_ARGS ?=
# The dashboard and API of `make demo` (vatsim-pipeline serve).
DASHBOARD_PORT ?= 8000
DASHBOARD_URL := http://127.0.0.1:$(DASHBOARD_PORT)/
# The browser tests drive Debian's chromium: Playwright cannot download its own here.
CHROMIUM ?= /usr/bin/chromium

INSTALLED := $(VENV)/.installed

.PHONY: install init run demo test lint bench-ingest clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(INSTALLED)

# The instance profile `init` installs into DAGSTER_HOME: `dagster.yaml` (SQLite, the
# embedded default) or vatsim_pipeline/deploy/dagster.$(PROFILE).yaml.
PROFILE_FILE := $(if $(filter sqlite,$(PROFILE)),dagster.yaml,vatsim_pipeline/deploy/dagster.$(PROFILE).yaml)
HOME_ENV = VATSIM_HOME="$(VATSIM_HOME)" DAGSTER_HOME="$(VATSIM_HOME)/dagster_home"
DEMO_ENV = VATSIM_HOME="$(VATSIM_HOME)/demo" DAGSTER_HOME="$(VATSIM_HOME)/demo/dagster_home" \
	VATSIM_STATUS_URL="http://127.0.0.1:$(DEMO_PORT)/status.json" \
	VATSIM_MAP_DATA_URL="http://127.0.0.1:$(DEMO_PORT)/api/map_data/" \
	VATSIM_TRACON_URL="http://127.0.0.1:$(DEMO_PORT)/map_data/TRACONBoundaries.geojson" \
	VATSIM_MAINTENANCE_CRON="$(DEMO_MAINTENANCE_CRON)" \
	VATSIM_FORECAST_CRON="$(DEMO_FORECAST_CRON)" \
	VATSIM_RUN_RETENTION_DAYS="$(DEMO_RUN_RETENTION_DAYS)"
# `dagster dev` runs in DAGSTER_HOME, so that it does not find this folder's dagster.yaml
# (a profile that init copies there) and warn that it is ignored; the warning that it is
# superseded by `dg dev` (dagster-dg-cli, a scaffolding tool this project does not use)
# asks nothing of a user and is silenced. The daemon and the webserver print warnings and
# errors only (their INFO lines, some 30 a minute, say that the sensor ticked); each run
# prints its own summary lines (VATSIM_RUN_LOG_LEVEL), and the UI has everything.
DAGSTER_DEV = echo "Dagster UI: http://127.0.0.1:$(PORT) (runs print their summaries here)"; \
	cd "$$DAGSTER_HOME" && "$(CURDIR)/$(BIN)/python" \
	-W 'ignore:Function `dev_command` is superseded:FutureWarning' \
	-m dagster dev -w "$(CURDIR)/workspace.yaml" -h 127.0.0.1 -p $(PORT) --log-level warning

# Prepares DAGSTER_HOME and the data tables once, before any Dagster process starts (two
# processes initialising a new SQLite instance at once can corrupt it).
init: install
	@$(HOME_ENV) $(BIN)/vatsim-pipeline init --config "$(PROFILE_FILE)"

run: install
	@export $(HOME_ENV); \
	$(BIN)/vatsim-pipeline init --config "$(PROFILE_FILE)" --port $(PORT) && $(DAGSTER_DEV)

demo: install
	@export $(DEMO_ENV) VATSIM_DASHBOARD_URL="$(DASHBOARD_URL)"; \
	$(BIN)/vatsim-pipeline init --config dagster.yaml --port $(PORT) --port $(DEMO_PORT) \
		--port $(DASHBOARD_PORT) || exit; \
	$(BIN)/vatsim-pipeline feed-server --simulate --pilots $(DEMO_PILOTS) \
		--controllers $(DEMO_CONTROLLERS) --port $(DEMO_PORT) & server=$$!; \
	$(BIN)/vatsim-pipeline serve --port $(DASHBOARD_PORT) & api=$$!; \
	trap 'kill $$server $$api 2>/dev/null' EXIT INT TERM; \
	echo "Dashboard: $(DASHBOARD_URL)"; \
	$(DAGSTER_DEV)

$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: install $(CHROMIUM)
	$(BIN)/ruff check vatsim_pipeline vatsim_pipeline_tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

bench-ingest: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VATSIM_HOME) .pytest_cache .ruff_cache .hypothesis
