"""The data and ML logic of ct: plain Python, no Dagster import, testable on small frames."""
