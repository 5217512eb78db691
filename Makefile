# The two commands a newcomer needs (see README.md):
#   make demo   set everything up and run the edge node on a local chain with SQLite
#   make test   set everything up and run the gate: lint, types and the whole test suite
.PHONY: setup demo test lint types pytest bench contracts functions stack

VENV := .venv/bin

setup:
	@./scripts/setup

demo: setup
	$(VENV)/edge-node demo $(ARGS)

test: setup lint types pytest

# The whole chain on a laptop (README "The laptop stack"): the demo chain and node, moto for
# AWS, the functions, Prometheus and Alertmanager (Debian packages; Alertmanager publishing to
# moto's SNS as deployed), a local Slack stand-in.
stack: setup
	$(VENV)/python -m laptop $(ARGS)

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types:
	$(VENV)/mypy

pytest:
	$(VENV)/pytest $(ARGS)

# Benchmarks print one JSON object each; they are not part of the gate (timings are not tests).
bench: setup
	$(VENV)/python tests/benchmarks/bench_ingest.py
	$(VENV)/python tests/benchmarks/bench_memory.py
	$(VENV)/python tests/benchmarks/bench_latency.py
	$(VENV)/python tests/benchmarks/bench_e2e_anvil.py
	$(VENV)/python tests/benchmarks/bench_backup.py
	$(VENV)/python tests/benchmarks/bench_fanout.py

# One AWS Lambda artifact per function package in dist/functions/ (needs PyPI for the Lambda
# platform's wheels; not part of `make test`).
functions: setup
	./scripts/build-functions $(ARGS)

# Recompile the Solidity sources into the committed artifacts (needs npm tools).
contracts: setup
	$(VENV)/python -m edge_node.devchain.solc --write
