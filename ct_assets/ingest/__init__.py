"""Reading deliveries: files written whole, parsed into frames, placed in partitions.

Plain Python with no Dagster import, like `ml/`: the raw and validated stages, the sources and
the sensors all call it.
"""
