"""What a user would write instead of gankit: the reference training loops the
benchmarks measure gankit against, on the same data and the same batch.

- :class:`TutorialLoop`: TensorFlow's DCGAN tutorial loop (one ``tf.function`` step,
  one forward pass, two ``GradientTape``s, ``apply_gradients``), in float32 or with
  the ``mixed_bfloat16`` policy switched on: the best a user reaches unaided on a CPU
  with native bfloat16. Adam(2e-4, beta1 0.5) as in the DCGAN paper.
- :class:`FitGAN`: the Keras guide's GAN, a ``keras.Model`` with a custom
  ``train_step`` trained by ``fit()``.
- :class:`Pix2Pix`: the TensorFlow pix2pix tutorial's recipe for style transfer: one
  U-Net over content and style stacked on channels with skips at every scale, a
  PatchGAN discriminator on (conditions, image), minimax + 100 x L1, Adam(2e-4, 0.5),
  ``mixed_bfloat16``: the literal tutorial, its U-Net at full width (up to 512 filters).
- :class:`Pix2PixDCGAN`: the same recipe with both networks at DCGAN widths (a
  three-level U-Net, 64-256 filters, and a conditional DCGAN discriminator): the
  strongest peer on this task, trained as fast per step as gankit's default.

The DCGAN contenders use gankit's DCGAN architecture with Keras's own layers
(``gankit.nn.layers.to_keras``), so models and initial weights are the same as
gankit's; the optimizers are Keras's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.nn.precision import dtype_policy as policy

LATENT = 100


def peer_precisions() -> tuple[str, ...]:
    """The precisions a user would train the peers in on this CPU, fastest last:
    bfloat16 only where it is native (emulated it is several times slower, and under
    ``ONEDNN_MAX_CPU_ISA=AVX2`` oneDNN cannot build its kernels at all)."""
    from gankit.nn.precision import cpu_has_native_bf16

    return ("float32", "mixed_bfloat16") if cpu_has_native_bf16() else ("float32",)


def best_precision() -> str:
    """The precision each peer trains fastest in on this CPU."""
    return peer_precisions()[-1]


def plain_dcgan(
    precision: str, width: int = 64, seed: int = 0, to_image: str = "auto"
) -> tuple[Any, Any]:
    """gankit's unconditional DCGAN G and D at 32x32x3, with Keras's own layers.

    ``to_image``: how the generator ends (``build_dcgan_generator``). ``"auto"``, gankit's
    unconditional default (a 3x3 convolution after full-resolution features), trained
    more legible digits at equal seconds in gankit's races (docs/performance.md,
    "Legibility"), so the time-to-quality races give it to the peer too;
    ``"transposed"`` is the tutorial's own ending, about 15% cheaper a step, which
    throughput.py times on both sides (SAME_NETWORK).
    """
    import keras

    import gankit
    from gankit.nn.layers import to_keras
    from gankit_plugins.dcgan import build_dcgan_discriminator, build_dcgan_generator

    spec = gankit.ModelSpec((32, 32, 3), LATENT)
    keras.utils.set_random_seed(seed)
    with policy(precision):
        g = to_keras(build_dcgan_generator(spec, width=width, to_image=to_image))
        d = to_keras(build_dcgan_discriminator(spec, width=width))
    return g, d


def real_images(batch: int, seed: int = 0, data_dir: str | None = None) -> Any:
    """An endless, shuffled ``tf.data`` stream of real unconditional composites (train
    split, mnist-cifar's pairing), batched and prefetched as the tutorial does."""
    import tensorflow as tf

    import gankit
    from gankit_plugins.mnist_cifar import build_mnist_cifar

    dataset = build_mnist_cifar(gankit.DataContext.from_env(data_dir), seed=seed)
    images = dataset.load("train").map(lambda el: el["image"])
    return (
        images.shuffle(10_000, seed=seed)
        .repeat()
        .batch(batch, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


class TutorialLoop:
    """TensorFlow's DCGAN tutorial loop; ``run(n)`` trains n steps and waits for them."""

    def __init__(
        self,
        precision: str,
        batch: int,
        seed: int = 0,
        data_dir: str | None = None,
        to_image: str = "auto",
    ) -> None:
        import keras
        import tensorflow as tf

        self.generator, self.discriminator = plain_dcgan(precision, seed=seed, to_image=to_image)
        self.g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.batch, self.iterator = batch, iter(real_images(batch, seed, data_dir))
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        G, D = self.generator, self.discriminator

        @tf.function
        def train_step(real: Any) -> Any:
            noise = tf.random.normal([batch, LATENT])
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                fake = G({"z": noise}, training=True)
                real_out = D({"image": real}, training=True)
                fake_out = D({"image": fake}, training=True)
                gen_loss = bce(tf.ones_like(fake_out), fake_out)
                disc_loss = bce(tf.ones_like(real_out), real_out) + bce(
                    tf.zeros_like(fake_out), fake_out
                )
            g_grads = gen_tape.gradient(gen_loss, G.trainable_variables)
            d_grads = disc_tape.gradient(disc_loss, D.trainable_variables)
            self.g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
            self.d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
            return disc_loss

        self.train_step = train_step
        self.run(2)  # trace and warm up outside any timing

    def run(self, steps: int) -> None:
        for _ in range(steps):
            loss = self.train_step(next(self.iterator))
        float(loss)


class FitGAN:
    """The Keras guide's GAN (``keras.Model`` + custom ``train_step``) trained by ``fit()``."""

    def __init__(
        self,
        precision: str,
        batch: int,
        seed: int = 0,
        data_dir: str | None = None,
        to_image: str = "auto",
    ) -> None:
        import keras
        import tensorflow as tf

        generator, discriminator = plain_dcgan(precision, seed=seed, to_image=to_image)

        class GAN(keras.Model):
            def __init__(self) -> None:
                super().__init__()
                self.generator, self.discriminator = generator, discriminator
                self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

            def compile(self, d_optimizer: Any, g_optimizer: Any) -> None:
                super().compile()
                self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

            def train_step(self, real: Any) -> dict[str, Any]:
                noise = tf.random.normal([tf.shape(real)[0], LATENT])
                fake = self.generator({"z": noise})
                with tf.GradientTape() as tape:
                    real_out = self.discriminator({"image": real})
                    fake_out = self.discriminator({"image": fake})
                    d_loss = self.bce(tf.ones_like(real_out), real_out) + self.bce(
                        tf.zeros_like(fake_out), fake_out
                    )
                grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
                self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
                with tf.GradientTape() as tape:
                    fake_out = self.discriminator({"image": self.generator({"z": noise})})
                    g_loss = self.bce(tf.ones_like(fake_out), fake_out)
                grads = tape.gradient(g_loss, self.generator.trainable_weights)
                self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
                return {"d_loss": d_loss, "g_loss": g_loss}

        self.gan = GAN()
        self.gan.compile(
            keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
        )
        self.data = real_images(batch, seed, data_dir)
        self.run(2)

    def run(self, steps: int) -> None:
        self.gan.fit(self.data, epochs=1, steps_per_epoch=steps, verbose=0)


# === pix2pix ===


def _down(filters: int, batch_norm: bool = True) -> Any:
    import keras

    block = keras.Sequential()
    block.add(
        keras.layers.Conv2D(
            filters,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
        )
    )
    if batch_norm:
        block.add(keras.layers.BatchNormalization())
    block.add(keras.layers.LeakyReLU(0.3))
    return block


def _up(filters: int, dropout: bool = False) -> Any:
    import keras

    block = keras.Sequential()
    block.add(
        keras.layers.Conv2DTranspose(
            filters,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
        )
    )
    block.add(keras.layers.BatchNormalization())
    if dropout:
        block.add(keras.layers.Dropout(0.5))
    block.add(keras.layers.ReLU())
    return block


def pix2pix_generator() -> Any:
    """The tutorial's U-Net scaled to 32x32: 5 downsamplings to 1x1, skips at every scale."""
    import keras

    inputs = keras.Input((32, 32, 4))  # content (1) and style (3) stacked on channels
    downs = [_down(64, batch_norm=False), _down(128), _down(256), _down(512), _down(512)]
    ups = [_up(512, dropout=True), _up(256, dropout=True), _up(128), _up(64)]
    x, skips = inputs, []
    for down in downs:
        x = down(x)
        skips.append(x)
    for up, skip in zip(ups, reversed(skips[:-1])):
        x = keras.layers.Concatenate()([up(x), skip])
    x = keras.layers.Conv2DTranspose(
        3,
        4,
        strides=2,
        padding="same",
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
    )(x)
    return keras.Model(inputs, keras.layers.Activation("tanh", dtype="float32")(x))


def pix2pix_discriminator() -> Any:
    """The tutorial's PatchGAN on (conditions, image) stacked on channels: 6x6 logits."""
    import keras

    conditions, image = keras.Input((32, 32, 4)), keras.Input((32, 32, 3))
    x = keras.layers.Concatenate()([conditions, image])
    x = _down(128)(_down(64, batch_norm=False)(x))
    x = keras.layers.Conv2D(256, 4, use_bias=False)(keras.layers.ZeroPadding2D()(x))
    x = keras.layers.LeakyReLU(0.3)(keras.layers.BatchNormalization()(x))
    x = keras.layers.Conv2D(1, 4)(keras.layers.ZeroPadding2D()(x))
    return keras.Model([conditions, image], keras.layers.Activation("linear", dtype="float32")(x))


def dcgan_unet_generator(latent: int = LATENT) -> Any:
    """pix2pix's U-Net at DCGAN widths: three stride-2 4x4 convolutions (64, 128, 256;
    batch norm after the first, LeakyReLU 0.2) over content and style stacked, ``z``
    through Dense to 4x4x16 joined at the bottleneck, two 4x4 transposed convolutions
    (128, 64; batch norm, ReLU) each joined with the encoder level of its size, and a
    4x4 transposed convolution to 3 channels with tanh."""
    import keras
    from keras import layers

    init = keras.initializers.RandomNormal(0.0, 0.02)
    conditions, z = keras.Input((32, 32, 4)), keras.Input((latent,))
    x, skips = conditions, []
    for i, filters in enumerate((64, 128, 256)):
        x = layers.Conv2D(
            filters, 4, strides=2, padding="same", use_bias=i == 0, kernel_initializer=init
        )(x)
        x = layers.LeakyReLU(0.2)(x if i == 0 else layers.BatchNormalization()(x))
        skips.append(x)
    code = layers.Reshape((4, 4, 16))(layers.Dense(4 * 4 * 16, kernel_initializer=init)(z))
    x = layers.Concatenate()([x, code])
    for filters, skip in zip((128, 64), reversed(skips[:-1])):
        x = layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init
        )(x)
        x = layers.Concatenate()([layers.ReLU()(layers.BatchNormalization()(x)), skip])
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer=init)(x)
    return keras.Model(
        [conditions, z], layers.Activation("tanh", dtype="float32")(x), name="unet_generator"
    )


def dcgan_conditional_discriminator() -> Any:
    """A conditional DCGAN discriminator on (conditions, image) stacked on channels:
    three stride-2 4x4 convolutions (64, 128, 256; batch norm after the first, LeakyReLU
    0.2), Flatten, Dense(1)."""
    import keras
    from keras import layers

    init = keras.initializers.RandomNormal(0.0, 0.02)
    conditions, image = keras.Input((32, 32, 4)), keras.Input((32, 32, 3))
    x = layers.Concatenate()([conditions, image])
    for i, filters in enumerate((64, 128, 256)):
        x = layers.Conv2D(
            filters, 4, strides=2, padding="same", use_bias=i == 0, kernel_initializer=init
        )(x)
        x = layers.LeakyReLU(0.2)(x if i == 0 else layers.BatchNormalization()(x))
    x = layers.Dense(1, kernel_initializer=init)(layers.Flatten()(x))
    return keras.Model(
        [conditions, image],
        layers.Activation("linear", dtype="float32")(x),
        name="conditional_discriminator",
    )


class Pix2Pix:
    """The pix2pix tutorial's training step on mnist-cifar (content, style) -> image, with
    the tutorial's full-width U-Net and PatchGAN (the literal tutorial)."""

    latent = 0  # the tutorial's generator takes no noise: dropout is its only source

    def __init__(
        self,
        batch: int = 64,
        precision: str = "mixed_bfloat16",
        seed: int = 0,
        data_dir: str | None = None,
    ) -> None:
        import keras
        import tensorflow as tf

        import gankit
        from gankit_plugins.mnist_cifar import build_mnist_cifar

        keras.utils.set_random_seed(seed)
        with policy(precision):
            G, D = self.build()
        self.generator = G
        g_opt, d_opt = (
            keras.optimizers.Adam(2e-4, beta_1=0.5),
            keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        data = build_mnist_cifar(gankit.DataContext.from_env(data_dir), seed=seed).load("train")
        data = data.map(lambda el: (tf.concat([el["content"], el["style"]], -1), el["image"]))
        self.iterator = iter(
            data.shuffle(10_000, seed=seed)
            .repeat()
            .batch(batch, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
        )
        latent = self.latent

        @tf.function
        def train_step(conditions: Any, target: Any) -> Any:
            inputs = [conditions, tf.random.normal([batch, latent])] if latent else conditions
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                output = G(inputs, training=True)
                real_out = D([conditions, target], training=True)
                fake_out = D([conditions, output], training=True)
                l1 = tf.reduce_mean(tf.abs(target - tf.cast(output, tf.float32)))
                gen_loss = bce(tf.ones_like(fake_out), fake_out) + 100.0 * l1
                disc_loss = bce(tf.ones_like(real_out), real_out) + bce(
                    tf.zeros_like(fake_out), fake_out
                )
            g_opt.apply_gradients(
                zip(gen_tape.gradient(gen_loss, G.trainable_variables), G.trainable_variables)
            )
            d_opt.apply_gradients(
                zip(disc_tape.gradient(disc_loss, D.trainable_variables), D.trainable_variables)
            )
            return gen_loss

        self.train_step = train_step
        self.run(2)

    def build(self) -> tuple[Any, Any]:
        return pix2pix_generator(), pix2pix_discriminator()

    def run(self, steps: int) -> None:
        for _ in range(steps):
            loss = self.train_step(*next(self.iterator))
        float(loss)

    def transfer(
        self, content: np.ndarray, style: np.ndarray, z: np.ndarray | None = None
    ) -> np.ndarray:
        # dropout stays on at inference, as in the tutorial (its only source of noise)
        return np.asarray(self.generator(np.concatenate([content, style], -1), training=True))


class Pix2PixDCGAN(Pix2Pix):
    """The strongest peer: the pix2pix recipe (the same step, loss, optimizers and
    precision) with its networks at DCGAN widths (:func:`dcgan_unet_generator`,
    :func:`dcgan_conditional_discriminator`), as a user who knows both would write it."""

    latent = LATENT

    def build(self) -> tuple[Any, Any]:
        return dcgan_unet_generator(self.latent), dcgan_conditional_discriminator()

    def transfer(
        self, content: np.ndarray, style: np.ndarray, z: np.ndarray | None = None
    ) -> np.ndarray:
        if z is None:
            z = (
                np.random.default_rng(0)
                .standard_normal((len(content), self.latent))
                .astype(np.float32)
            )
        return np.asarray(self.generator([np.concatenate([content, style], -1), z], training=False))
