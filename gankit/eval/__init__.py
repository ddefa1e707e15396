"""Evaluating and using a trained run: metric numerics, feature extractors, the
evaluator behind ``gankit evaluate`` and ``--eval-every``, sampling and style transfer.

``gankit.eval.metrics`` (the pure metric numerics) is public.
"""
