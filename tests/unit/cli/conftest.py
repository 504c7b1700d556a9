"""Fixtures of the commands' unit tests (defined in tests/helpers/, shared with integration)."""

from tests.helpers.fleet import fleet  # noqa: F401
