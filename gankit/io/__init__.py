"""Files gankit reads and writes: TOML, atomic writes and JSON lines, image grids and PNGs.

The bottom layer with :mod:`gankit.errors` and :mod:`gankit.types`: it imports no other
part of gankit.
"""
