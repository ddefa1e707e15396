"""The ``pix2pix`` scheme (Isola et al. 2017): translation learnt from pairs.

Roles: ``generator`` (a translation generator, ``unet`` by default; exported as
``generator.keras``: the source image in, its translation out) and ``discriminator``
(``patchgan`` by default), which judges the (source, image) pair: it is built for the
image with the source as a condition image. Groups ``discriminator`` (``d_*``) and
``generator`` (``g_*``). The dataset must be paired (``requires = "paired"``): its
``image`` is the ground truth of its source (paired ``A/ B/`` folders, side-by-side
files, or mnist-cifar with the digit as the source).

Losses: the run's adversarial loss (``minimax`` by default, pix2pix's) on the pair, and
``l1_weight`` (100) times the L1 to the ground truth on the generator's. The
generator's only noise is its dropout, as in pix2pix. Adam 2e-4, beta1 0.5, the rates
falling linearly to zero over the second half of the run.
"""

from __future__ import annotations

from typing import Any

import gankit
from gankit.conditions import SOURCE, translation_source
from gankit.scheme import Group, Role, SchemeContext, Step
from gankit.terms import judged_loss, l1_reconstruction_loss

PIX2PIX_TRAINING = gankit.TrainingDefaults(
    lr_g=2e-4,
    lr_d=2e-4,
    beta1=0.5,
    beta2=0.999,
    lr_decay=0.5,
    loss="minimax",
    generator="unet",
    discriminator="patchgan",
    batch_size=32,
    steps=1500,
)
GENERATOR, DISCRIMINATOR = "generator", "discriminator"


class Pix2PixScheme:
    """A translation generator and a pair discriminator, with L1 (module doc)."""

    requires = "paired"
    roles = (
        Role(GENERATOR, "generators", export=GENERATOR, averaged=True),
        Role(DISCRIMINATOR, "discriminators"),
    )
    groups = (
        Group(DISCRIMINATOR, (DISCRIMINATOR,), side="discriminator", prefix="d"),
        Group(GENERATOR, (GENERATOR,), side="generator", prefix="g"),
    )

    def __init__(self, context: SchemeContext, *, l1_weight: float) -> None:
        if not l1_weight >= 0:
            raise ValueError(f"`l1_weight` must be >= 0, received `{l1_weight}`.")
        dataset = context.dataset
        self.source = translation_source(dataset)
        if self.source is None:
            raise ValueError("the dataset has one image domain, not pairs")
        self.loss, self.loss_component, self.l1_weight = (
            context.loss,
            context.components.get("loss"),
            float(l1_weight),
        )
        source, target = tuple(dataset.conditions[self.source]), tuple(dataset.image_shape)
        self.roles = (
            Role(
                GENERATOR,
                "generators",
                spec=gankit.ModelSpec(
                    target, context.latent_dim, {SOURCE: source}, translation=True
                ),
                export=GENERATOR,
                averaged=True,
            ),
            Role(
                DISCRIMINATOR,
                "discriminators",
                spec=gankit.ModelSpec(target, context.latent_dim, {SOURCE: source}),
            ),
        )

    def forward(self, step: Step) -> tuple[Any, Any, Any]:
        source, real = step.batch[self.source], step.batch["image"]
        return source, real, step.nets[GENERATOR](source, training=True)

    def losses(self, step: Step) -> dict[str, Any]:
        from keras import ops

        source, real, fake = step.shared
        D, judged = step.nets[DISCRIMINATOR], {SOURCE: source}  # D judges the pair
        out = {}
        if DISCRIMINATOR in step.wanted:
            out[DISCRIMINATOR] = judged_loss(
                self.loss,
                self.loss_component,
                DISCRIMINATOR,
                D,
                real,
                ops.stop_gradient(fake),
                judged,
            )
        if GENERATOR in step.wanted:
            gan = judged_loss(self.loss, self.loss_component, GENERATOR, D, real, fake, judged)
            l1 = l1_reconstruction_loss(real, fake)
            out[GENERATOR] = {"loss": gan + self.l1_weight * l1, "gan": gan, "l1": l1}
        return out

    def samples(self, network: Any, examples: dict[str, Any]) -> list[Any]:
        """The grid's columns: source | translated | ground truth."""
        source = examples[self.source]
        return [source, network(GENERATOR)(source, training=False), examples["image"]]


def build_pix2pix_scheme(context: SchemeContext, *, l1_weight: float = 100.0) -> Pix2PixScheme:
    """pix2pix (Isola et al. 2017): paired translation, source to image.

    Args:
        l1_weight: weight of the L1 to the ground truth on the generator's loss (pix2pix: 100).
    """
    return Pix2PixScheme(context, l1_weight=l1_weight)


@gankit.hookimpl
def register_schemes(register):
    register(
        "pix2pix",
        build_pix2pix_scheme,
        training=PIX2PIX_TRAINING,
        summary="pix2pix: paired translation, U-Net + PatchGAN on the pair, L1 (Isola et al. 2017)",
    )
