# The two Quickstart commands: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Loopback is allowed for webhooks on a development machine only (`make listen`).
DEV_NETWORKS := SYNDICATE_WEBHOOK_ALLOWED_NETWORKS=$${SYNDICATE_WEBHOOK_ALLOWED_NETWORKS-127.0.0.0/8,::1/128}

.PHONY: run listen flower parse test lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(DEV_NETWORKS) $(BIN)/syndicate up --ingest examples

listen: $(STAMP)
	$(DEV_NETWORKS) $(BIN)/syndicate subscriptions listen

flower: $(STAMP)
	$(BIN)/celery -A config.celery_app flower --port=5555 --address=127.0.0.1

parse: $(STAMP)
	$(BIN)/syndicate parse examples/everwinter-2019-ending-explained.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The integration tests mostly wait on their services: four at a time fit 2 cores.
TEST_PROCESSES ?= 4

test: lint
	$(BIN)/pytest -n $(TEST_PROCESSES)

bench: $(STAMP)
	$(BIN)/python bench/pipeline_speed.py
	$(BIN)/python bench/rouge_eval.py
	$(BIN)/python bench/e2e_throughput.py
	$(BIN)/python bench/publish_scaling.py
	$(BIN)/python bench/webhook_fanout.py
	$(BIN)/python bench/scale_workers.py

# Every page at 1280x800 into docs/screenshots/ (needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python -m tests.integration.screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
