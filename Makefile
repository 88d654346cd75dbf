# The two commands of the README: `make demo` (main job) and `make test` (the whole test suite).
# Both set everything up first (scripts/setup.sh is idempotent).
VENV := .venv/bin

.PHONY: setup demo test lint typecheck unit bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/sailctl demo

test: setup lint typecheck
	$(VENV)/python -m pytest -q --durations=15

lint: setup
	$(VENV)/ruff check src tests benchmarks
	$(VENV)/ruff format --check src tests benchmarks
	$(VENV)/lint-imports

typecheck: setup
	$(VENV)/mypy

bench: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
