"""The ``cut`` and ``fastcut`` schemes (Park et al. 2020): contrastive unpaired translation.

One generator ``g`` (A to B, exported as ``generator_a2b.keras``), one discriminator
``d``, and a patch projection head ``f`` the scheme builds itself (a role of family
``scheme``: one two-layer MLP per encoder layer, 256 wide, L2-normalised outputs).
Groups ``discriminator`` (``d_*``) and ``generator`` (``g`` and ``f``, ``g_*``).

The generator's loss is the run's adversarial loss (``lsgan`` by default) plus
``nce_weight`` times **PatchNCE**: the translated image's features at ``num_patches``
random locations of each encoder layer (``encoder_0`` ... of the translation generator,
:attr:`gankit.ModelSpec.translation`), projected by ``f``, must pick out the source
image's features at the same location among the other locations of that image
(InfoNCE at temperature 0.07), averaged over the layers. ``cut`` adds the identity
PatchNCE on ``G(b)`` against ``b`` and halves the sum (``nce_idt``); ``fastcut`` drops
it, weighs PatchNCE 10, and flips the source half of the steps while asking for the
flipped features back (flip equivariance), as the paper's FastCUT settings.

When the two domains have different channels (a one-channel digit to an RGB
composite), the generator encodes a B image through A's channels: the mean of its
channels for one, the one channel repeated for three (the paper's domains share theirs).
Adam 2e-4 with beta1 0.5, the rates falling linearly to zero over the last half of the
run. ``fastcut``'s defaults differ where measured to pay on the demo task: the
discriminator's rate 5e-5, the generator's weights averaged (0.999) for samples and
exports, 1250 steps, the rates falling over the last quarter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gankit
from gankit.conditions import SOURCE, translation_source
from gankit.scheme import SCHEME_BUILT, Group, Role, SchemeContext, Step
from gankit.terms import judged_loss

CUT_TRAINING = gankit.TrainingDefaults(
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
# The paper's last quarter of decay; then, by benchmarks/translation.py on
# mnist-cifar-unpaired (docs/translation.md), a 4x slower discriminator and the
# generator's moving average: the content accuracy climbs instead of swinging, and
# 1250 steps end at its peak where 1500 fell back on one seed of two.
FASTCUT_TRAINING = dataclasses.replace(
    CUT_TRAINING, lr_decay=0.25, lr_d=5e-5, ema_decay=0.999, steps=1250
)
G, D, F = "g", "d", "f"
GENERATOR, DISCRIMINATOR = "generator", "discriminator"
ENCODER = "encoder_"


def patch_nce_loss(query: Any, key: Any, temperature: float) -> Any:
    """InfoNCE over patches: ``query``, ``key`` ``(B, N, C)`` unit vectors; patch ``i``
    of ``query`` must match patch ``i`` of ``key`` against the image's other patches."""
    from keras import ops

    query, key = ops.cast(query, "float32"), ops.stop_gradient(ops.cast(key, "float32"))
    positive = ops.sum(query * key, axis=-1, keepdims=True)  # (B, N, 1)
    negative = ops.matmul(query, ops.transpose(key, (0, 2, 1)))  # (B, N, N)
    n = ops.shape(query)[1]
    negative = ops.where(
        ops.eye(n, dtype="bool")[None], -10.0, negative
    )  # a patch is not its own negative
    logits = ops.concatenate([positive, negative], axis=-1) / temperature
    return -ops.mean(ops.log_softmax(logits, axis=-1)[..., 0])


def as_channels(images: Any, channels: int) -> Any:
    """``images`` with ``channels`` channels: the channel mean for one, a repeated
    channel for more."""
    from keras import ops

    have = images.shape[-1]
    if have == channels:
        return images
    if channels == 1:
        return ops.mean(images, axis=-1, keepdims=True)
    return ops.repeat(images, channels, axis=-1)


class CUTScheme:
    """A generator, a discriminator and a patch projection head (module doc)."""

    requires = "unpaired"
    roles = (
        Role(G, "generators", export="generator_a2b", averaged=True),
        Role(D, "discriminators"),
        Role(F, SCHEME_BUILT),
    )
    groups = (
        Group(DISCRIMINATOR, (D,), side="discriminator", prefix="d"),
        Group(GENERATOR, (G, F), side="generator", prefix="g"),
    )

    def __init__(
        self,
        context: SchemeContext,
        *,
        nce_weight: float,
        identity: bool,
        flip_equivariance: bool,
        num_patches: int,
        temperature: float,
        layers: str,
    ) -> None:
        dataset = context.dataset
        self.source = translation_source(dataset)
        if self.source is None:
            raise ValueError("the dataset has one image domain, not two")
        if not nce_weight >= 0 or not temperature > 0 or num_patches < 1:
            raise ValueError("`nce_weight` must be >= 0, `temperature` > 0 and `num_patches` >= 1")
        self.loss, self.loss_component = context.loss, context.components.get("loss")
        self.nce_weight, self.identity, self.flip = float(nce_weight), identity, flip_equivariance
        self.num_patches, self.temperature = num_patches, float(temperature)
        self.layers = [f"{ENCODER}{int(i)}" for i in str(layers).split(",") if i.strip()]
        self.shape_a, self.shape_b = (
            tuple(dataset.conditions[self.source]),
            tuple(dataset.image_shape),
        )
        spec = gankit.ModelSpec(
            self.shape_b, context.latent_dim, {SOURCE: self.shape_a}, translation=True
        )
        self.roles = (
            Role(G, "generators", spec=spec, export="generator_a2b", averaged=True),
            Role(D, "discriminators", spec=gankit.ModelSpec(self.shape_b, context.latent_dim)),
            Role(F, SCHEME_BUILT),
        )
        self.encoder: Any = None

    def build_role(self, name: str, nets: dict[str, Any]) -> Any:
        """The projection head ``f``: an MLP per encoder layer of the generator."""
        import keras
        from keras import layers

        generator = nets[G]
        missing = [n for n in self.layers if n not in {layer.name for layer in generator.layers}]
        if missing:
            raise ValueError(
                f"the generator names no layer {missing[0]} (a translation generator names its "
                f"encoder's layers {ENCODER}0, {ENCODER}1, ...; -o scheme.layers chooses them)"
            )
        outputs = [generator.get_layer(n).output for n in self.layers]
        self.encoder = keras.Model(generator.inputs, outputs, name="encoder")
        init = keras.initializers.RandomNormal(0.0, 0.02)
        inputs, heads = [], []
        for layer_name, feature in zip(self.layers, outputs):
            x = keras.Input((None, int(feature.shape[-1])), name=layer_name)
            h = layers.Dense(
                256, activation="relu", kernel_initializer=init, name=f"{layer_name}_mlp_1"
            )(x)
            h = layers.Dense(256, kernel_initializer=init, name=f"{layer_name}_mlp_2")(h)
            inputs.append(x)
            heads.append(
                layers.UnitNormalization(axis=-1, dtype="float32", name=f"{layer_name}_unit")(h)
            )
        return keras.Model(inputs, heads, name="patch_head")

    def forward(self, step: Step) -> dict[str, Any]:
        from keras import ops

        a, b = step.batch[self.source], step.batch["image"]
        flipped = ops.convert_to_tensor(False)
        if self.flip:
            flipped = step.noise(1, salt=3)[0, 0] > 0.0  # half the steps
            a = ops.where(flipped, ops.flip(a, axis=2), a)
        shared = {"a": a, "b": b, "fake": step.nets[G](a, training=True), "flipped": flipped}
        if self.identity:
            shared["identity"] = step.nets[G](as_channels(b, self.shape_a[-1]), training=True)
        return shared

    def losses(self, step: Step) -> dict[str, Any]:
        from keras import ops

        s, out = step.shared, {}
        if DISCRIMINATOR in step.wanted:
            out[DISCRIMINATOR] = self._adversarial(
                step, s["b"], ops.stop_gradient(s["fake"]), DISCRIMINATOR
            )
        if GENERATOR in step.wanted:
            gan = self._adversarial(step, s["b"], s["fake"], GENERATOR)
            nce = self.patch_nce(step, s["a"], s["fake"], s["flipped"])
            scalars = {"gan": gan, "nce": nce}
            if self.identity:
                scalars["nce_identity"] = self.patch_nce(step, s["b"], s["identity"], None)
                nce = 0.5 * (nce + scalars["nce_identity"])
            out[GENERATOR] = {"loss": gan + self.nce_weight * nce, **scalars}
        return out

    def _adversarial(self, step: Step, real: Any, fake: Any, side: str) -> Any:
        return judged_loss(self.loss, self.loss_component, side, step.nets[D], real, fake)

    def patch_nce(self, step: Step, source: Any, translated: Any, flipped: Any) -> Any:
        """PatchNCE between ``source`` and its translation, averaged over the layers."""
        from keras import ops

        channels = self.shape_a[-1]
        keys = _as_list(self.encoder(as_channels(source, channels), training=True))
        queries = _as_list(self.encoder(as_channels(translated, channels), training=True))
        if flipped is not None and self.flip:  # asked back in the source's orientation
            queries = [ops.where(flipped, ops.flip(q, axis=2), q) for q in queries]
        sampled_q, sampled_k = [], []
        for index, (q, k) in enumerate(zip(queries, keys)):
            height, width, depth = q.shape[1], q.shape[2], q.shape[3]
            count = height * width
            order = ops.argsort(step.noise(count, salt=100 + index)[0])[
                : min(self.num_patches, count)
            ]
            sampled_q.append(ops.take(ops.reshape(q, (-1, count, depth)), order, axis=1))
            sampled_k.append(ops.take(ops.reshape(k, (-1, count, depth)), order, axis=1))
        head = step.nets[F]
        projected_q, projected_k = (
            _as_list(head(sampled_q, training=True)),
            _as_list(head(sampled_k, training=True)),
        )
        total = [patch_nce_loss(q, k, self.temperature) for q, k in zip(projected_q, projected_k)]
        return ops.sum(ops.stack(total)) / len(total)

    def samples(self, network: Any, examples: dict[str, Any]) -> list[Any]:
        """The grid's columns: source | translated, and B | G(B) (the identity)."""
        g = network(G)
        a, b = examples[self.source], examples["image"]
        return [a, g(a, training=False), b, g(as_channels(b, self.shape_a[-1]), training=False)]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def build_cut_scheme(
    context: SchemeContext,
    *,
    nce_weight: float = 1.0,
    identity: bool = True,
    flip_equivariance: bool = False,
    num_patches: int = 256,
    temperature: float = 0.07,
    layers: str = "0,1,2,3,4",
) -> CUTScheme:
    """CUT (Park et al. 2020): one-way unpaired translation by patchwise contrastive learning.

    Args:
        nce_weight: lambda of PatchNCE (CUT: 1).
        identity: also PatchNCE on G(b) against b, halving the sum (CUT: on).
        flip_equivariance: flip the source on half the steps and ask for the
            features flipped back (FastCUT: on).
        num_patches: locations sampled per layer and image (256).
        temperature: InfoNCE's temperature (0.07).
        layers: the generator's encoder layers used, by index (``encoder_<i>``).
    """
    return CUTScheme(
        context,
        nce_weight=nce_weight,
        identity=identity,
        flip_equivariance=flip_equivariance,
        num_patches=num_patches,
        temperature=temperature,
        layers=layers,
    )


def build_fastcut_scheme(
    context: SchemeContext,
    *,
    nce_weight: float = 10.0,
    identity: bool = False,
    flip_equivariance: bool = True,
    num_patches: int = 256,
    temperature: float = 0.07,
    layers: str = "0,1,2,3,4",
) -> CUTScheme:
    """FastCUT (Park et al. 2020): CUT without the identity term, PatchNCE weighed 10,
    with flip equivariance: faster, with larger changes. Options as ``cut``'s."""
    return CUTScheme(
        context,
        nce_weight=nce_weight,
        identity=identity,
        flip_equivariance=flip_equivariance,
        num_patches=num_patches,
        temperature=temperature,
        layers=layers,
    )


@gankit.hookimpl
def register_schemes(register):
    register(
        "cut",
        build_cut_scheme,
        training=CUT_TRAINING,
        summary="CUT: one-way unpaired translation by patchwise contrastive learning (Park et al. "
        "2020)",
    )
    register(
        "fastcut",
        build_fastcut_scheme,
        training=FASTCUT_TRAINING,
        summary="FastCUT: CUT without identity NCE, NCE weight 10, flip equivariance (Park et al. "
        "2020)",
    )
