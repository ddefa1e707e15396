"""The ``cyclegan`` scheme (Zhu et al. 2017): unpaired translation between two domains.

Roles: ``g_ab`` (A to B, exported as ``generator_a2b.keras``), ``g_ba`` (B to A,
``generator_b2a.keras``), ``d_a`` and ``d_b``; groups ``discriminators`` (both Ds,
``lr_d``, logged ``d_*``) and ``generators`` (both Gs, ``lr_g``, ``g_*``). The batch
is ``{"image": b, <source>: a}`` from a two-domain dataset (``requires = "unpaired"``;
paired data trains too, its pairing unused).

- Discriminators: the run's adversarial loss (``lsgan`` by default) on real images
  against fakes drawn from a 50-image history per domain (:class:`gankit.terms.ImagePool`).
- Generators: the adversarial loss on fresh fakes, plus ``cycle_weight`` (10) times the
  cycle L1 ``|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|``, plus ``identity_weight``
  (0.5) x ``cycle_weight`` times the identity L1 ``|G_ab(b) - b| + |G_ba(a) - a|``
  (only when both domains have the same channels, as in CycleGAN's code).

Adam at 2e-4 with beta1 0.5, the learning rates falling linearly to zero over the
second half of the run (``--lr-decay 0.5``): CycleGAN's settings, declared by the scheme
below any the user gives. One difference from CycleGAN's code: ``lsgan``'s generator
loss is ``0.5 (D(G(a)) - 1)^2`` (Mao et al.'s form), half of CycleGAN's, so the cycle
and identity terms weigh twice as much against it; ``-o scheme.gan_weight=2`` restores
CycleGAN's balance exactly.
"""

from __future__ import annotations

from typing import Any

import gankit
from gankit.conditions import SOURCE, translation_source
from gankit.scheme import Group, Role, SchemeContext, Step
from gankit.terms import ImagePool, judged_loss, l1_reconstruction_loss

CYCLEGAN_TRAINING = gankit.TrainingDefaults(
    lr_g=2e-4,
    lr_d=2e-4,
    beta1=0.5,
    beta2=0.999,
    lr_decay=0.5,
    loss="lsgan",
    generator="resnet-translator",
    discriminator="patchgan",
    batch_size=32,
    steps=1500,
)
G_AB, G_BA, D_A, D_B = "g_ab", "g_ba", "d_a", "d_b"
DISCRIMINATORS, GENERATORS = "discriminators", "generators"


def translation_specs(context: SchemeContext) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Domain A's and domain B's image shapes and A's condition name."""
    dataset = context.dataset
    source = translation_source(dataset)
    if source is None:
        raise ValueError("the dataset has one image domain, not two")
    return tuple(dataset.conditions[source]), tuple(dataset.image_shape), source


def translator_spec(
    source: tuple[int, ...], target: tuple[int, ...], latent_dim: int
) -> gankit.ModelSpec:
    return gankit.ModelSpec(target, latent_dim, {SOURCE: source}, translation=True)


class CycleGANScheme:
    """Two generators, two discriminators, cycle and identity terms (module doc)."""

    requires = "unpaired"
    roles = (
        Role(G_AB, "generators", export="generator_a2b", averaged=True),
        Role(G_BA, "generators", export="generator_b2a", averaged=True),
        Role(D_A, "discriminators"),
        Role(D_B, "discriminators"),
    )
    groups = (
        Group(DISCRIMINATORS, (D_A, D_B), side="discriminator", prefix="d"),
        Group(GENERATORS, (G_AB, G_BA), side="generator", prefix="g"),
    )

    def __init__(
        self,
        context: SchemeContext,
        *,
        cycle_weight: float,
        identity_weight: float,
        gan_weight: float,
        pool_size: int,
    ) -> None:
        for name, value in (
            ("cycle_weight", cycle_weight),
            ("identity_weight", identity_weight),
            ("gan_weight", gan_weight),
        ):
            if not value >= 0:
                raise ValueError(f"`{name}` must be >= 0, received `{value}`.")
        self.loss, self.loss_component = context.loss, context.components.get("loss")
        self.cycle_weight, self.identity_weight, self.gan_weight = (
            cycle_weight,
            identity_weight,
            gan_weight,
        )
        self.pool_size = pool_size
        self.shape_a, self.shape_b, self.source = translation_specs(context)
        self.identity = identity_weight > 0 and self.shape_a == self.shape_b
        latent = context.latent_dim
        self.roles = (
            Role(
                G_AB,
                "generators",
                spec=translator_spec(self.shape_a, self.shape_b, latent),
                export="generator_a2b",
                averaged=True,
            ),
            Role(
                G_BA,
                "generators",
                spec=translator_spec(self.shape_b, self.shape_a, latent),
                export="generator_b2a",
                averaged=True,
            ),
            Role(D_A, "discriminators", spec=gankit.ModelSpec(self.shape_a, latent)),
            Role(D_B, "discriminators", spec=gankit.ModelSpec(self.shape_b, latent)),
        )
        self.pools: dict[str, ImagePool] = {}

    def setup(self, nets: Any) -> None:
        """The image histories (variables: created in the strategy's scope)."""
        self.pools = {
            "a": ImagePool(self.pool_size, self.shape_a, "pool_a"),
            "b": ImagePool(self.pool_size, self.shape_b, "pool_b"),
        }

    @property
    def state(self) -> dict[str, list[Any]]:
        """Variables the run checkpoints beside the networks."""
        return {f"pool_{k}": p.variables for k, p in self.pools.items()}

    def forward(self, step: Step) -> tuple[Any, Any, Any, Any]:
        a, b = step.batch[self.source], step.batch["image"]
        return a, b, step.nets[G_AB](a, training=True), step.nets[G_BA](b, training=True)

    def losses(self, step: Step) -> dict[str, Any]:
        a, b, fake_b, fake_a = step.shared
        out = {}
        if DISCRIMINATORS in step.wanted:
            out[DISCRIMINATORS] = self.discriminator_losses(step, a, b, fake_a, fake_b)
        if GENERATORS in step.wanted:
            out[GENERATORS] = self.generator_losses(step, a, b, fake_a, fake_b)
        return out

    def _adversarial(self, D: Any, real: Any, fake: Any, side: str) -> Any:
        return judged_loss(self.loss, self.loss_component, side, D, real, fake)

    def discriminator_losses(
        self, step: Step, a: Any, b: Any, fake_a: Any, fake_b: Any
    ) -> dict[str, Any]:
        from keras import ops

        pooled_a = self.pools["a"].query(ops.stop_gradient(fake_a), step.noise(2, salt=1))
        pooled_b = self.pools["b"].query(ops.stop_gradient(fake_b), step.noise(2, salt=2))
        loss_a = self._adversarial(step.nets[D_A], a, pooled_a, "discriminator")
        loss_b = self._adversarial(step.nets[D_B], b, pooled_b, "discriminator")
        return {"loss": loss_a + loss_b, "a": loss_a, "b": loss_b}

    def generator_losses(
        self, step: Step, a: Any, b: Any, fake_a: Any, fake_b: Any
    ) -> dict[str, Any]:
        g_ab, g_ba = step.nets[G_AB], step.nets[G_BA]
        gan_ab = self._adversarial(step.nets[D_B], b, fake_b, "generator")
        gan_ba = self._adversarial(step.nets[D_A], a, fake_a, "generator")
        cycle = l1_reconstruction_loss(a, g_ba(fake_b, training=True)) + l1_reconstruction_loss(
            b, g_ab(fake_a, training=True)
        )
        loss = self.gan_weight * (gan_ab + gan_ba) + self.cycle_weight * cycle
        scalars = {"gan_ab": gan_ab, "gan_ba": gan_ba, "cycle": cycle}
        if self.identity:
            identity = l1_reconstruction_loss(b, g_ab(b, training=True)) + l1_reconstruction_loss(
                a, g_ba(a, training=True)
            )
            loss = loss + self.identity_weight * self.cycle_weight * identity
            scalars["identity"] = identity
        return {"loss": loss, **scalars}

    def samples(self, network: Any, examples: dict[str, Any]) -> list[Any]:
        """The grid's columns, per direction: input | translated | reconstructed."""
        a, b = examples[self.source], examples["image"]
        g_ab, g_ba = network(G_AB), network(G_BA)
        fake_b, fake_a = g_ab(a, training=False), g_ba(b, training=False)
        return [a, fake_b, g_ba(fake_b, training=False), b, fake_a, g_ab(fake_a, training=False)]


def build_cyclegan_scheme(
    context: SchemeContext,
    *,
    cycle_weight: float = 10.0,
    identity_weight: float = 0.5,
    gan_weight: float = 1.0,
    pool_size: int = 50,
) -> CycleGANScheme:
    """CycleGAN (Zhu et al. 2017): unpaired translation, A to B and back.

    Args:
        cycle_weight: lambda of the cycle-consistency L1 (CycleGAN: 10).
        identity_weight: the identity L1's weight as a share of ``cycle_weight``
            (CycleGAN: 0.5); used only when both domains have the same channels.
        gan_weight: weight of the generators' adversarial terms (2 with ``lsgan``
            matches CycleGAN's code, whose generator loss is twice lsgan's).
        pool_size: images in each domain's history of fakes (0: none).
    """
    return CycleGANScheme(
        context,
        cycle_weight=cycle_weight,
        identity_weight=identity_weight,
        gan_weight=gan_weight,
        pool_size=pool_size,
    )


@gankit.hookimpl
def register_schemes(register):
    register(
        "cyclegan",
        build_cyclegan_scheme,
        training=CYCLEGAN_TRAINING,
        summary="CycleGAN: unpaired translation A<->B, cycle and identity L1 (Zhu et al. 2017)",
    )
