# The two commands: `make run` serves the demo, `make test` runs the linters and the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install assets bench schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) assets

# GraphiQL and React, copied from the npm registry so GraphiQL needs no CDN.
assets: routes/static/graphiql/graphiql.min.js
routes/static/graphiql/graphiql.min.js: scripts/graphiql_assets.sh
	sh scripts/graphiql_assets.sh routes/static/graphiql

run: install
	CABINET_DEMO=1 CABINET_RUN_WORKERS=1 CABINET_SANDBOX_BANK=$${CABINET_SANDBOX_BANK:-1} CABINET_BUSINESS_DATE=$${CABINET_BUSINESS_DATE:-2014-05-26} \
		$(VENV)/bin/cabinet run

test: install lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

# ruff (lint and format) and mypy, configured in pyproject.toml; `make test` runs them first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The performance benchmark (README, Performance): data sets kept in var/bench, wrk as the load
# generator, PostGraphile (npm, into bench/.node) as the peer. BENCH_ARGS="--sizes 10000,1000000" etc.
bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update && apt-get install -y wrk; }
	$(PY) -m bench.run $(BENCH_ARGS)

schema: $(STAMP)
	$(PY) -c "from schema import schema_sdl, SCHEMA_FILE; SCHEMA_FILE.write_text(schema_sdl())"

clean:
	rm -rf $(VENV) var routes/static/graphiql
