"""Training a run: the update rules, the loop that runs them, its schedule of logging,
samples, checkpoints and evaluation, progress, and tf.distribute strategies.
"""
