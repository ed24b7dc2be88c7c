# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export COALITION_DATABASE_URL ?= sqlite:///./coalition.db

.PHONY: backup-drill bench-devices bench-rules bench-settlement bench-simulation install run test lint unit bench clean screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install  ## migrate the embedded database, load the demo network, serve on http://127.0.0.1:8000
	$(BIN)/coalition migrate
	$(BIN)/coalition demo
	COALITION_OPEN_REGISTRATION=$${COALITION_OPEN_REGISTRATION:-1} COALITION_OPERATOR_TOKEN=$${COALITION_OPERATOR_TOKEN:-demo-operator} \
		$(BIN)/coalition serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# pytest-xdist processes: on 2 cores, 3 keep both busy while tests wait on browsers, servers and the database
TEST_WORKERS ?= 3

unit: install  ## the suite without lint, in $(TEST_WORKERS) processes (TEST_WORKERS=0: one process)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

test: lint unit  ## lint, types and the whole suite (storage tests on SQLite and PostgreSQL)

bench: install  ## purchases/s and latency through HTTP against PostgreSQL, next to pgbench (see docs/benchmarks.md)
	$(BIN)/python -m bench.purchases

bench-devices: install  ## devices' authorize + charge through HTTP, and 200 devices through the MQTT bridge (see docs/benchmarks.md)
	$(BIN)/python -m bench.devices

bench-rules: install  ## the rules engine: one purchase evaluated against 200 rules (see docs/benchmarks.md)
	$(BIN)/python -m bench.rules

bench-simulation: install  ## a draft rule set simulated over 1,000,000 stored purchases on PostgreSQL
	$(BIN)/python -m bench.simulation

bench-settlement: install  ## closing a settlement period of 1,000,000 purchases across 50 partners on PostgreSQL
	$(BIN)/python -m bench.settlement

backup-drill: install  ## point-in-time recovery on a throwaway PostgreSQL cluster (run as root or postgres; docs/backups.md)
	$(BIN)/python -m tests.storage.backup_drill

clean:
	rm -rf $(VENV) coalition.db coalition.db-wal coalition.db-shm .pytest_cache .mypy_cache .ruff_cache

screenshots: install  ## the main screens as PNGs in docs/screenshots/ (demo network, Debian's Chromium)
	$(BIN)/python -m tests.web.screenshots
