"""Helpers shared by several test files, unit and integration:
the ones tests/test_freshness.py held."""

from __future__ import annotations

from datetime import timedelta

WARN_AFTER, FAIL_AFTER = timedelta(hours=26), timedelta(hours=36)
