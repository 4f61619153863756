# Retentio: `make run` runs the whole pipeline on sample data, `make test` runs the tests.
# Both set themselves up (virtual environment, dbt manifest) on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

# dagster-dbt runs `dbt` as a subprocess found on PATH.
export PATH := $(BIN):$(PATH)
# Absolute paths, the same for `dbt parse` here and for the runs: dbt's partial parsing is only reused when
# the environment variables the project reads are unchanged (else every dbt invocation re-parses it all).
export RETENTIO_LANDING_DIR ?= $(CURDIR)/data/landing
export RETENTIO_WAREHOUSE_DIR ?= $(CURDIR)/data/warehouse
# The Dagster instance (run history, run queue, pool slots) lives with the warehouse, as
# `python -m pipelines.run` places it by default: one per warehouse, and `make dev` shows `make run`'s runs.
export DAGSTER_HOME ?= $(RETENTIO_WAREHOUSE_DIR)/dagster_home
# Nothing may wait on the network for usage statistics.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export TQDM_DISABLE ?=

INSTALLED := $(VENV)/.installed
SPARK_INSTALLED := $(VENV)/.spark-installed
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := dbt_project/dbt_project.yml dbt_project/profiles.yml $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null)

.PHONY: run test test-slow dev prepare install lock docs benchmark clean browser spark-deps test-spark check-extracts ci lint

# `make run VERBOSE=1` streams dbt's and Dagster's full log instead of progress lines (it is always kept in
# <warehouse>/logs).
run: prepare
	$(BIN)/python -m pipelines.run $(if $(VERBOSE),--verbose)

# Two workers, each taking whole test files (module fixtures run once): most tests are small pipeline runs
# whose dbt and Dagster work uses one core, so two at a time use both (14.3 -> 11.1 minutes on 2 cores).
test: prepare browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# What a team's CI runs on a change to the dbt models (README, "Changing the models"): dbt parse and the Dagster
# code location, SQL lint of the changed models, dbt unit tests, a slim build of what changed and its children
# against production's state (<warehouse>/dbt_state, kept by every publish; RETENTIO_CI_STATE_DIR), and the
# published-schema check. Needs a warehouse: `make run` first.
ci: prepare
	$(BIN)/python -m pipelines.ci

# SQL lint of every model (make ci lints only the changed ones), with the rules of .sqlfluff.
lint: $(INSTALLED)
	$(BIN)/sqlfluff lint dbt_project/models

# Runs killed with SIGKILL at every step (tests/test_kill_points.py), beyond the few `make test` covers, and
# the other tests marked `long` (a backfill through the daemon, a 30 s wait); CI runs them after `make test`.
test-slow: prepare browser
	$(BIN)/python -m pytest -m "kill_points or long"

dev: prepare
	$(BIN)/dagster dev -w workspace.yaml

# What the ingestion would make of each landing file (extract, dialect, columns, rejected rows, what to change),
# without running the pipeline: nothing is written to the warehouse.
check-extracts: $(INSTALLED)
	$(BIN)/python -m pipelines.ingestion.preview

install: $(INSTALLED)

# Debian's Chromium for the report's browser test (no browser download by pip or npm). Without root or
# apt the test skips and says how to install it.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium chromium-driver >/dev/null; } || echo "chromium not installed: the browser test will skip"

# What the Spark test needs (README, "Running on Spark"), installed by .ci/run before `make test`: Debian's
# Java 17 when there is no java (with root and apt; otherwise the test skips and says why) and the spark
# dependency group, pinned in requirements-spark.lock on top of requirements.lock.
spark-deps: $(SPARK_INSTALLED)
	@command -v java >/dev/null || { mkdir -p /usr/share/man/man1 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; } || echo "java not installed: the Spark test will skip"

$(SPARK_INSTALLED): $(INSTALLED) requirements-spark.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-spark.lock
	touch $@

# The dbt models on a local Spark against the DuckDB run, mart by mart (also part of `make test`).
test-spark: prepare spark-deps
	$(BIN)/python -m pytest -m spark

# requirements.lock pins every package the tests ran with; pyproject.toml says what we depend on.
$(INSTALLED): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

prepare: $(INSTALLED) $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml

# The dbt manifest is prepared at build time, not parsed each time Dagster imports the definitions.
$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	$(BIN)/python -m pipelines.transform.prepare
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e ".[test]"
	.lock-venv/bin/python -m pip freeze --exclude-editable > requirements.lock
	.lock-venv/bin/python -m pip install --quiet -c requirements.lock -e ".[spark]"
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -vxFf requirements.lock > requirements-spark.lock
	rm -rf .lock-venv

docs: prepare
	cd dbt_project && $(BIN)/dbt docs generate --profiles-dir .

TIERS ?= 10k,100k,1M
benchmark: prepare
	$(BIN)/python -m benchmarks.run --tiers $(TIERS)

# .dagster_home: where the Dagster instance lived before it moved in with the warehouse.
clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
