"""Helpers shared by several test files, unit and integration:
the ones tests/test_environments.py held."""

from __future__ import annotations

PRODUCTION = {
    "CT_DAGSTER_POSTGRES_URL": "postgresql+psycopg2://ct@db.internal:5432/dagster",
    "CT_DATA_URL": "s3://ct-data/prod",
    "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
    "CT_ONLINE_STORE_URL": "redis://redis.internal:6379/0",
}
