# Shortcuts for the commands the README gives; each fails when its tool fails.
.PHONY: demo ui test unit lint dev

# The project `make dev` serves: an example, or any folder with a ct.yaml.
CT_PROJECT ?= $(CURDIR)/examples/shop

demo:
	uv run --locked ct demo

ui:
	uv run --locked ct demo --ui

test:
	uv run --locked pytest

unit:
	uv run --locked pytest tests/unit

lint:
	uv run --locked ruff check .
	uv run --locked ruff format --check .
	uv run --locked mypy

dev:
	uv run --locked ct up --ui --project $(CT_PROJECT)
