"""The read side: what commands and the monitoring stage read back from an instance, the
registry and the stores (status, lineage, recorded metadata, scores, online scoring). Nothing
here builds an asset.
"""
