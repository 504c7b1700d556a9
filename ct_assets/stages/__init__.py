"""The stages of the asset graph, one module per stage (raw, validated, features, online,
splits, candidates, evaluations, production, drift, performance, scoring), each a thin Dagster
wrapper around the pure logic of `ct_assets.ml`; `common.py` is what every stage shares
(partitions, automation conditions, retries, tags). Only `ct_assets.definitions` assembles them.
"""
