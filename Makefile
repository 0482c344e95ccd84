# Two commands do all set-up from a clean clone: `make run` (the pipeline on the live
# VATSIM feeds) and `make test` (the suite). `make demo` runs it offline.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VATSIM_HOME ?= $(CURDIR)/.vatsim
PROFILE ?= sqlite
DEMO_PORT ?= 8765
DEMO_PILOTS ?= 300
DEMO_CONTROLLERS ?= 40
# The demo's maintenance runs every 5 minutes and prunes runs older than 10 minutes, so
# that its effect shows within a quarter of an hour instead of after a week.
DEMO_MAINTENANCE_CRON ?= */5 * * * *
DEMO_RUN_RETENTION_DAYS ?= 0.007
PYTEST_ARGS ?=
# The dashboard and API of `make demo` (vatsim-pipeline serve).
DASHBOARD_PORT ?= 8000
DASHBOARD_URL := http://127.0.0.1:$(DASHBOARD_PORT)/
# The browser tests drive Debian's chromium: Playwright cannot download its own here.
CHROMIUM ?= /usr/bin/chromium

INSTALLED := $(VENV)/.installed

.PHONY: install run demo test lint bench-ingest clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(INSTALLED)

# Copies the chosen instance profile into DAGSTER_HOME: `dagster.yaml` (SQLite, the
# embedded default) or vatsim_pipeline/deploy/dagster.$(PROFILE).yaml.
define dagster_home
	mkdir -p "$(1)"
	if [ "$(PROFILE)" = sqlite ]; then cp dagster.yaml "$(1)/dagster.yaml"; \
	else cp "vatsim_pipeline/deploy/dagster.$(PROFILE).yaml" "$(1)/dagster.yaml"; fi
endef

run: install
	$(call dagster_home,$(VATSIM_HOME)/dagster_home)
	VATSIM_HOME="$(VATSIM_HOME)" DAGSTER_HOME="$(VATSIM_HOME)/dagster_home" \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

demo: install
	$(call dagster_home,$(VATSIM_HOME)/demo/dagster_home)
	export VATSIM_HOME="$(VATSIM_HOME)/demo" DAGSTER_HOME="$(VATSIM_HOME)/demo/dagster_home" \
		VATSIM_STATUS_URL="http://127.0.0.1:$(DEMO_PORT)/status.json" \
		VATSIM_MAINTENANCE_CRON="$(DEMO_MAINTENANCE_CRON)" \
		VATSIM_RUN_RETENTION_DAYS="$(DEMO_RUN_RETENTION_DAYS)" \
		VATSIM_DASHBOARD_URL="$(DASHBOARD_URL)"; \
	$(BIN)/vatsim-pipeline feed-server --simulate --pilots $(DEMO_PILOTS) \
		--controllers $(DEMO_CONTROLLERS) --port $(DEMO_PORT) & server=$$!; \
	$(BIN)/vatsim-pipeline serve --port $(DASHBOARD_PORT) & api=$$!; \
	trap 'kill $$server $$api 2>/dev/null' EXIT INT TERM; \
	echo "dashboard: $(DASHBOARD_URL)"; (sleep 15; echo "dashboard: $(DASHBOARD_URL)") & \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: install $(CHROMIUM)
	$(BIN)/ruff check vatsim_pipeline vatsim_pipeline_tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

bench-ingest: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VATSIM_HOME) .pytest_cache .ruff_cache .hypothesis
