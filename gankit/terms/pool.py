"""CycleGAN's image history: the discriminator sees fakes from earlier steps too.

Shrivastava et al. (2017) and CycleGAN (Zhu et al. 2017) update the discriminator with a
history of generated images rather than only the latest generator's: each new fake is
stored until the pool holds ``size``; after that each fake is, with probability 1/2,
swapped for a random stored one (which the discriminator sees instead), else passed
through. The pool is two variables (its images, and how many it holds), so it is in
the run's checkpoints and resumes where it was. Written in ``keras.ops``.

Under ``tf.distribute`` every replica gathers the whole global batch's fakes (and
noise), applies the same update to its copy of the pool, and takes its own slice of
the result: N replicas keep exactly the pool one device keeps (the variables are
mirrored with ``only_first_replica`` aggregation; all copies agree). That gather is the
one TensorFlow call here, as distribution needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ImagePool"]


class ImagePool:
    """A history of ``size`` images of ``shape`` (create it inside the strategy scope:
    in a scheme's ``setup``)."""

    def __init__(self, size: int, shape: tuple[int, ...], name: str) -> None:
        import keras

        if not isinstance(size, int) or size < 0:
            raise ValueError(f"`pool_size` must be a non-negative integer, received `{size}`.")
        self.size = size
        # one row more than the history: where the images that replace nothing are written
        self.images = keras.Variable(
            keras.ops.zeros((size + 1, *shape)),
            dtype="float32",
            trainable=False,
            aggregation="only_first_replica",
            name=f"{name}_images",
        )
        self.count = keras.Variable(
            0,
            dtype="int32",
            trainable=False,
            aggregation="only_first_replica",
            name=f"{name}_count",
        )

    @property
    def variables(self) -> list[Any]:
        return [self.images, self.count]

    def query(self, fakes: Any, noise: Any) -> Any:
        """The images the discriminator sees for ``fakes`` (``(B, *shape)``, gradients
        already stopped), updating the pool. ``noise``: ``(B, 2)`` standard normal,
        which decides the swaps and the slots."""
        from keras import ops

        if self.size == 0:
            return fakes
        fakes, noise, mine = _global_batch(ops.cast(fakes, "float32"), noise)
        batch = ops.shape(fakes)[0]
        count = ops.convert_to_tensor(self.count)
        position = count + ops.arange(batch, dtype="int32")
        filling = position < self.size
        swap = ops.logical_and(ops.logical_not(filling), noise[:, 0] > 0.0)
        uniform = 0.5 * (
            1.0 + ops.erf(noise[:, 1] / 1.4142135623730951)
        )  # Phi(noise): uniform in (0, 1)
        random_slot = ops.minimum(ops.cast(uniform * self.size, "int32"), self.size - 1)
        slot = ops.where(filling, ops.minimum(position, self.size - 1), random_slot)
        chosen = ops.where(swap[:, None, None, None], ops.take(self.images, slot, axis=0), fakes)
        target = ops.where(
            ops.logical_or(filling, swap), slot, self.size
        )  # the rest: the spare row
        self.images.assign(ops.scatter_update(self.images, target[:, None], fakes))
        self.count.assign(ops.minimum(count + batch, self.size))
        return mine(chosen)


def _global_batch(fakes: Any, noise: Any) -> tuple[Any, Any, Any]:
    """Every replica's ``fakes`` and ``noise`` in replica order, and how to take this
    replica's slice back (one device: themselves)."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return fakes, noise, lambda x: x
    local = tf.shape(fakes)[0]
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local
    return (
        context.all_gather(fakes, axis=0),
        context.all_gather(noise, axis=0),
        lambda x: x[start : start + local],
    )
