"""A run: its configuration, its directory (``config.toml``, ``run.json``, checkpoints,
the writer's lock) and the models it builds from its config.

Training (:mod:`gankit.training`) and evaluation (:mod:`gankit.eval`) both use a run; a
run knows neither.
"""
