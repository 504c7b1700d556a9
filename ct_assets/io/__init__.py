"""The I/O side of ct's own records, kept apart from the pure logic of `ct_assets.ml`: the
prediction log (a background writer thread), the delayed-label files, and the serving probe (a
fresh process that loads a candidate as serving would). The pure packages (`ml`, `project`)
never import this one; the stages, sensors, commands and `ct serve` do.
"""
