# Shortcuts for the commands the README gives; each fails when its tool fails.
.PHONY: demo ui test lint dev

demo:
	uv run --locked ct demo

ui:
	uv run --locked ct demo --ui

test:
	uv run --locked pytest

lint:
	uv run --locked ruff check .
	uv run --locked ruff format --check .
	uv run --locked mypy

dev:
	uv run --locked dagster dev -w workspace.yaml -h 127.0.0.1
