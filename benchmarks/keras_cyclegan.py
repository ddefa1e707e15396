"""The peer of the translation benchmark: the Keras CycleGAN example's recipe.

keras-io ``examples/generative/cyclegan.py`` (A_K_Nain), as a user would run it on
this data, with only what the data forces changed:

- its ResNet generator (``filters=64``, two down-samplings, nine residual blocks, two
  up-samplings, ``ReflectionPadding2D`` as its own ``tf.pad`` layer, instance norm as
  ``GroupNormalization(groups=-1)`` with gamma initialised N(0, 0.02) as the example
  does) and its discriminator (64 filters, three stride-2 4x4 convolutions, LeakyReLU
  0.2, a 4x4 convolution to one channel);
- LSGAN (``MeanSquaredError``), generator loss ``MSE(1, D(G(x)))``, discriminator loss
  ``(MSE(1, D(y)) + MSE(0, D(G(x)))) / 2``, cycle L1 x 10, identity L1 x 10 x 0.5;
- Adam(2e-4, beta1 0.5) for each of the four networks; a ``keras.Model`` with a custom
  ``train_step`` trained by ``fit()``.

Changed: the images are 32x32 (domain A one channel: the generators' input and output
channels follow their domains); the identity term is left out when the domains'
channels differ (the example's domains share theirs, and CycleGAN's code skips it
then too); the batch is the one gankit trains with (the example's 1 suits 256-pixel
images on a GPU); the precision is the faster of float32 and mixed_bfloat16 on this CPU
(``best_precision``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gankit.nn.precision import dtype_policy


def _reflection_pad_layer() -> Any:
    import keras
    import tensorflow as tf

    class ReflectionPadding2D(keras.layers.Layer):
        """The example's reflection padding (``tf.pad(..., mode="REFLECT")``)."""

        def __init__(self, padding: tuple[int, int] = (1, 1), **kwargs: Any) -> None:
            self.padding = tuple(padding)
            super().__init__(**kwargs)

        def call(self, x: Any) -> Any:
            w, h = self.padding
            return tf.pad(x, [[0, 0], [h, h], [w, w], [0, 0]], mode="REFLECT")

    return ReflectionPadding2D


def resnet_generator(
    in_channels: int, out_channels: int, size: int, filters: int = 64, blocks: int = 9
) -> Any:
    import keras
    from keras import layers

    pad = _reflection_pad_layer()
    kernel_init = keras.initializers.RandomNormal(0.0, 0.02)
    gamma_init = keras.initializers.RandomNormal(0.0, 0.02)

    def norm() -> Any:
        return layers.GroupNormalization(groups=-1, gamma_initializer=gamma_init)

    image = keras.Input((size, size, in_channels))
    x = pad(padding=(3, 3))(image)
    x = layers.Conv2D(filters, 7, kernel_initializer=kernel_init, use_bias=False)(x)
    x = layers.Activation("relu")(norm()(x))
    for _ in range(2):
        filters *= 2
        x = layers.Conv2D(
            filters, 3, strides=2, padding="same", kernel_initializer=kernel_init, use_bias=False
        )(x)
        x = layers.Activation("relu")(norm()(x))
    for _ in range(blocks):
        y = pad()(x)
        y = layers.Activation("relu")(
            norm()(layers.Conv2D(filters, 3, kernel_initializer=kernel_init, use_bias=False)(y))
        )
        y = norm()(
            layers.Conv2D(filters, 3, kernel_initializer=kernel_init, use_bias=False)(pad()(y))
        )
        x = layers.add([x, y])
    for _ in range(2):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", kernel_initializer=kernel_init, use_bias=False
        )(x)
        x = layers.Activation("relu")(norm()(x))
    x = layers.Conv2D(out_channels, 7, padding="valid")(pad(padding=(3, 3))(x))
    return keras.Model(image, layers.Activation("tanh", dtype="float32")(x))


def discriminator(channels: int, size: int, filters: int = 64) -> Any:
    import keras
    from keras import layers

    kernel_init = keras.initializers.RandomNormal(0.0, 0.02)
    gamma_init = keras.initializers.RandomNormal(0.0, 0.02)
    image = keras.Input((size, size, channels))
    x = layers.LeakyReLU(0.2)(
        layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=kernel_init)(image)
    )
    for i in range(3):
        filters *= 2
        x = layers.Conv2D(
            filters,
            4,
            strides=2 if i < 2 else 1,
            padding="same",
            kernel_initializer=kernel_init,
            use_bias=False,
        )(x)
        x = layers.LeakyReLU(0.2)(
            layers.GroupNormalization(groups=-1, gamma_initializer=gamma_init)(x)
        )
    x = layers.Conv2D(1, 4, strides=1, padding="same", kernel_initializer=kernel_init)(x)
    return keras.Model(image, layers.Activation("linear", dtype="float32")(x))


class KerasCycleGAN:
    """The example's CycleGan model trained by ``fit()`` on unpaired mnist-cifar."""

    def __init__(
        self,
        batch: int,
        precision: str,
        seed: int = 0,
        data_dir: str | None = None,
        *,
        blocks: int = 9,
    ) -> None:
        import keras
        import tensorflow as tf

        import gankit
        from gankit_plugins.mnist_cifar_unpaired import build_mnist_cifar_unpaired

        keras.utils.set_random_seed(seed)
        with dtype_policy(precision):
            self.g_ab = resnet_generator(1, 3, 32, blocks=blocks)
            self.g_ba = resnet_generator(3, 1, 32, blocks=blocks)
            d_a, d_b = discriminator(1, 32), discriminator(3, 32)
        mse, l1 = keras.losses.MeanSquaredError(), keras.losses.MeanAbsoluteError()
        g_ab, g_ba = self.g_ab, self.g_ba

        class CycleGan(keras.Model):
            def __init__(self) -> None:
                super().__init__()
                self.g_ab, self.g_ba, self.d_a, self.d_b = g_ab, g_ba, d_a, d_b

            def compile(self) -> None:
                super().compile()
                self.opts = [keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)]

            def train_step(self, batch_data: Any) -> dict[str, Any]:
                real_a, real_b = batch_data
                with tf.GradientTape(persistent=True) as tape:
                    fake_b, fake_a = (
                        self.g_ab(real_a, training=True),
                        self.g_ba(real_b, training=True),
                    )
                    cycled_a, cycled_b = (
                        self.g_ba(fake_b, training=True),
                        self.g_ab(fake_a, training=True),
                    )
                    disc_real_a, disc_fake_a = (
                        self.d_a(real_a, training=True),
                        self.d_a(fake_a, training=True),
                    )
                    disc_real_b, disc_fake_b = (
                        self.d_b(real_b, training=True),
                        self.d_b(fake_b, training=True),
                    )
                    cycle = 10.0 * (l1(real_a, cycled_a) + l1(real_b, cycled_b))
                    g_ab_loss = mse(tf.ones_like(disc_fake_b), disc_fake_b) + cycle
                    g_ba_loss = mse(tf.ones_like(disc_fake_a), disc_fake_a) + cycle
                    d_a_loss = 0.5 * (
                        mse(tf.ones_like(disc_real_a), disc_real_a)
                        + mse(tf.zeros_like(disc_fake_a), disc_fake_a)
                    )
                    d_b_loss = 0.5 * (
                        mse(tf.ones_like(disc_real_b), disc_real_b)
                        + mse(tf.zeros_like(disc_fake_b), disc_fake_b)
                    )
                for opt, loss, net in zip(
                    self.opts,
                    (g_ab_loss, g_ba_loss, d_a_loss, d_b_loss),
                    (self.g_ab, self.g_ba, self.d_a, self.d_b),
                ):
                    opt.apply_gradients(
                        zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables)
                    )
                return {"g_ab": g_ab_loss, "d_b": d_b_loss}

        self.model = CycleGan()
        self.model.compile()
        data = build_mnist_cifar_unpaired(gankit.DataContext.from_env(data_dir), seed=seed)
        pairs = data.load("train").map(lambda el: (el["source"], el["image"])).repeat()
        self.data = pairs.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def run(self, steps: int) -> None:
        self.model.fit(self.data, epochs=1, steps_per_epoch=steps, verbose=0)

    def a2b(self, digits: np.ndarray) -> np.ndarray:
        return np.asarray(self.g_ab(digits, training=False), np.float32)

    def b2a(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.g_ba(images, training=False), np.float32)


def best_precision(
    batch: int, steps: int = 12, data_dir: str | None = None
) -> tuple[str, dict[str, float]]:
    """The faster of float32 and mixed_bfloat16 for the peer here (images per second
    after a warm-up), and both figures."""
    speeds = {}
    for precision in ("float32", "mixed_bfloat16"):
        peer = KerasCycleGAN(batch, precision, data_dir=data_dir)
        peer.run(3)
        start = time.perf_counter()
        peer.run(steps)
        speeds[precision] = round(steps * batch / (time.perf_counter() - start), 1)
    return max(speeds, key=speeds.get), speeds
