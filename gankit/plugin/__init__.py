"""The plugin core: hook specs (the contract), loading plugins, the registry of named
components with their option rules, building a component by name, ``list-plugins`` and
the new-plugin scaffold.

Imports only :mod:`gankit.errors`, :mod:`gankit.types` and :mod:`gankit.io`; never
TensorFlow at import time.
"""
