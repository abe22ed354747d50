# `make run` and `make test` each create .venv and install what they need; a second
# run only reinstalls when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit unit-stock-runner bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.local-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.local-installed $@

run: $(VENV)/.local-installed
	$(BIN)/stepwise dev

lint: $(VENV)/.test-installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# Two pytest workers (pytest-xdist), each with its own Temporal servers, AWS emulator and, under
# STEPWISE_DATABASE_URL, its own database; a file's tests stay on one worker.
unit: $(VENV)/.test-installed
	$(BIN)/pytest -n 2 --dist loadfile

# Every replay test, step control and each pipeline's workflow-logic tests again with the
# worker's speed-ups off (Temporal's stock sandbox runner): the product must not depend on
# worker/speedups to be correct.
STOCK_RUNNER_TESTS := tests/test_replay.py tests/workflows/b2b/test_b2b_replay.py tests/workflows/media/test_media_replay.py \
	tests/workflows/recon/test_recon_replay.py tests/workflows/common/test_step_control.py \
	tests/workflows/booking/test_booking_workflow.py tests/workflows/media/test_media_workflow.py \
	tests/workflows/recon/test_recon_workflow.py tests/workflows/b2b/test_b2b_batch_history.py \
	tests/workflows/common/test_step_control_replay.py tests/workflows/poller/test_poller_replay.py \
	tests/workflows/translation/test_translation_replay.py tests/workflows/translation/test_translation_workflow.py \
	tests/workflows/documents/test_documents_replay.py tests/workflows/documents/test_shipment_workflow.py \
	tests/workflows/doctor/test_doctor_replay.py
unit-stock-runner: $(VENV)/.test-installed
	STEPWISE_WORKER__SDK_SPEEDUPS=false $(BIN)/pytest $(STOCK_RUNNER_TESTS) -p no:randomly

test: lint typecheck unit unit-stock-runner

bench: $(VENV)/.test-installed
	$(BIN)/pytest tests/benchmarks -m "benchmark and not peers" -s -p no:randomly --timeout 1800

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $(VENV)/.local-installed $(VENV)/.test-installed $@

bench-peers: $(VENV)/.bench-installed
	$(BIN)/pytest tests/benchmarks/test_peers.py -m "benchmark and peers" -s -p no:randomly --timeout 1800

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
