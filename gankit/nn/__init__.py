"""Numerics shared by models and trainer: drop-in Keras layers and the fused Adam (fast
paths, gated to where they were measured faster) and the precision policy.

``gankit.nn.layers`` is public: plugins may build their models with it.
"""
