"""Fixtures shared by the tests of this folder."""

from tests.helpers.families import new_family  # noqa: F401
from tests.helpers.incremental import days  # noqa: F401
