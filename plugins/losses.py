"""GAN losses beyond minimax: hinge, WGAN-GP, least squares and relativistic average.

Each loss is a pair of pure functions of the discriminator's logits (TF-GAN's shape:
``<family>_discriminator_loss(real_logits, fake_logits)``,
``<family>_generator_loss(...)``), each the mean over the batch, computed in float32,
and a small loss object that reads them from a ``gankit.LossContext``. Each declares
the training settings its paper uses (``gankit list-plugins`` shows them); flags and
config files override them.

pix2pix's reconstruction term on paired runs is not a loss's: the ``gan`` scheme adds
it to any loss (``gankit.terms.ReconstructionTerm``; ``-o scheme.l1_weight``).

The ``dcgan`` discriminator's batch norm mixes the examples of a batch, which the
WGAN-GP paper advises against for its per-example gradient penalty; with ``wgan-gp``
pass ``-o discriminator.batch_norm=false`` (the paper uses layer norm or none).
"""

from __future__ import annotations

from typing import Any

import gankit


def _float32(*tensors: Any) -> list[Any]:
    from keras import ops

    return [ops.cast(t, "float32") for t in tensors]


# === Hinge ===


def hinge_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``.

    Reference: Lim & Ye, "Geometric GAN", 2017; used by SNGAN (Miyato et al. 2018),
    SAGAN (Zhang et al. 2019) and BigGAN (Brock et al. 2019).
    """
    from keras import ops

    real, fake = _float32(real_logits, fake_logits)
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def hinge_generator_loss(fake_logits: Any) -> Any:
    """``-E[D(G(z))]`` (the generator loss of Lim & Ye 2017 and SAGAN)."""
    from keras import ops

    return -ops.mean(_float32(fake_logits)[0])


class HingeLoss:
    """The hinge loss as a gankit loss object."""

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        return hinge_discriminator_loss(ctx.real_logits, ctx.fake_logits)

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return hinge_generator_loss(ctx.fake_logits)


def build_hinge_loss() -> HingeLoss:
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN), with SAGAN's Adam settings."""
    return HingeLoss()


# SAGAN (Zhang et al. 2019, section 5): Adam beta1 0, beta2 0.9, lr 1e-4 for G and
# 4e-4 for D (the two time-scale update rule), one D step per G step.
HINGE_TRAINING = gankit.TrainingDefaults(lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, d_steps=1)


# === WGAN-GP ===


def wasserstein_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``E[D(G(z))] - E[D(x)]``: the critic's loss, the negated Wasserstein estimate.

    Reference: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017.
    """
    from keras import ops

    real, fake = _float32(real_logits, fake_logits)
    return ops.mean(fake) - ops.mean(real)


def wasserstein_generator_loss(fake_logits: Any) -> Any:
    """``-E[D(G(z))]``."""
    from keras import ops

    return -ops.mean(_float32(fake_logits)[0])


def gradient_penalty(
    discriminator: Any,
    real_images: Any,
    fake_images: Any,
    conditions: Any,
    fake_conditions: Any = None,
) -> Any:
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = e x + (1 - e) G(z)``, ``e ~ U[0, 1]``
    per example (with the example's conditions): WGAN-GP's penalty, unweighted. Where the
    fakes are seen with conditions of their own (``fake_conditions``, a run that draws its
    parts) those are mixed with the same ``e`` and the norm is over image and parts.

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """
    import tensorflow as tf

    real, fake = _float32(real_images, fake_images)
    eps = tf.random.uniform([tf.shape(real)[0], 1, 1, 1], dtype=tf.float32)
    drawn = {k: v for k, v in dict(fake_conditions or {}).items() if v is not conditions.get(k)}
    mixed = {"image": eps * real + (1.0 - eps) * tf.stop_gradient(fake)}
    for name, value in drawn.items():
        mixed[name] = eps * tf.cast(conditions[name], tf.float32) + (1.0 - eps) * tf.stop_gradient(
            tf.cast(value, tf.float32)
        )
    with tf.GradientTape() as tape:
        tape.watch(list(mixed.values()))
        logits = tf.cast(discriminator({**conditions, **mixed}, training=True), tf.float32)
    grads = tape.gradient(  # of the logits summed: each example its own
        logits, list(mixed.values()), unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    squares = tf.add_n(
        [tf.reduce_sum(tf.square(tf.cast(g, tf.float32)), axis=[1, 2, 3]) for g in grads]
    )
    norms = tf.sqrt(squares + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


class WassersteinGPLoss:
    """WGAN-GP as a gankit loss object; logs the penalty (``gp``) and the Wasserstein
    estimate ``E[D(x)] - E[D(G(z))]`` (``wasserstein``)."""

    def __init__(self, gp_weight: float) -> None:
        if gp_weight < 0:
            raise ValueError(f"`gp_weight` must be >= 0, received `{gp_weight}`.")
        self.gp_weight = gp_weight

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        critic = wasserstein_discriminator_loss(ctx.real_logits, ctx.fake_logits)
        penalty = gradient_penalty(
            ctx.discriminator, ctx.real_images, ctx.fake_images, ctx.conditions, ctx.fake_conditions
        )
        return {"loss": critic + self.gp_weight * penalty, "gp": penalty, "wasserstein": -critic}

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return wasserstein_generator_loss(ctx.fake_logits)


def build_wgan_gp_loss(*, gp_weight: float = 10.0) -> WassersteinGPLoss:
    """WGAN-GP (Gulrajani et al. 2017): Wasserstein critic loss plus gradient penalty.

    Args:
        gp_weight: the penalty's weight lambda (10 in the paper).
    """
    return WassersteinGPLoss(gp_weight)


# Gulrajani et al. 2017, Algorithm 1: lr 1e-4, beta1 0, beta2 0.9, 5 critic iterations.
WGAN_GP_TRAINING = gankit.TrainingDefaults(lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, d_steps=5)


# === Least squares ===


def least_squares_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]`` (the 0-1 coding, a = 0, b = c = 1).

    Reference: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
    """
    from keras import ops

    real, fake = _float32(real_logits, fake_logits)
    return 0.5 * ops.mean(ops.square(real - 1.0)) + 0.5 * ops.mean(ops.square(fake))


def least_squares_generator_loss(fake_logits: Any) -> Any:
    """``0.5 E[(D(G(z)) - 1)^2]``."""
    from keras import ops

    return 0.5 * ops.mean(ops.square(_float32(fake_logits)[0] - 1.0))


class LeastSquaresLoss:
    """LSGAN as a gankit loss object."""

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        return least_squares_discriminator_loss(ctx.real_logits, ctx.fake_logits)

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return least_squares_generator_loss(ctx.fake_logits)


def build_lsgan_loss() -> LeastSquaresLoss:
    """Least-squares GAN loss (Mao et al. 2017)."""
    return LeastSquaresLoss()


# LSGAN changes the loss, not DCGAN's recipe: Adam lr 2e-4, beta1 0.5.
LSGAN_TRAINING = gankit.TrainingDefaults(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, d_steps=1)


# === Relativistic average ===


def relativistic_average_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``-E[log s(C(x) - E C(G(z)))] - E[log(1 - s(C(G(z)) - E C(x)))]``, ``s`` the sigmoid:
    how much more real than the average fake the reals look, and the converse.

    Reference: Jolicoeur-Martineau, "The relativistic discriminator: a key element
    missing from standard GAN", ICLR 2019 (RaSGAN).
    """
    from keras import ops

    real, fake = _float32(real_logits, fake_logits)
    return ops.mean(ops.softplus(-(real - ops.mean(fake)))) + ops.mean(
        ops.softplus(fake - ops.mean(real))
    )


def relativistic_average_generator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """``-E[log s(C(G(z)) - E C(x))] - E[log(1 - s(C(x) - E C(G(z))))]``: the
    discriminator's loss with real and fake swapped; it needs the real logits too."""
    return relativistic_average_discriminator_loss(fake_logits, real_logits)


class RelativisticAverageLoss:
    """RaSGAN as a gankit loss object. Its generator loss reads ``ctx.real_logits``: in the
    alternating update they come from the same, updated discriminator as the fake ones."""

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        return relativistic_average_discriminator_loss(ctx.real_logits, ctx.fake_logits)

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return relativistic_average_generator_loss(ctx.real_logits, ctx.fake_logits)


def build_ragan_loss() -> RelativisticAverageLoss:
    """Relativistic average GAN loss (Jolicoeur-Martineau 2018)."""
    return RelativisticAverageLoss()


# Jolicoeur-Martineau 2018, section 4: Adam lr 2e-4, beta1 0.5, beta2 0.999, n_D = 1.
RAGAN_TRAINING = gankit.TrainingDefaults(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, d_steps=1)


@gankit.hookimpl
def register_losses(register: Any) -> None:
    register("hinge", build_hinge_loss, training=HINGE_TRAINING)
    register("wgan-gp", build_wgan_gp_loss, training=WGAN_GP_TRAINING)
    register("lsgan", build_lsgan_loss, training=LSGAN_TRAINING)
    register("ragan", build_ragan_loss, training=RAGAN_TRAINING)
