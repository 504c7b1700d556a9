"""Fixtures shared by unit tests of several modules (defined beside their other helpers in
tests/helpers/; tests/integration/conftest.py imports the ones integration tests use too)."""

from tests.helpers.cli import tiny  # noqa: F401
from tests.helpers.deploy import launcher  # noqa: F401
from tests.helpers.families import new_family  # noqa: F401
from tests.helpers.incremental import days  # noqa: F401
