"""The files ``gankit new-plugin`` writes, as ``string.Template`` texts, one component
example and one contract test per family."""

from __future__ import annotations

from gankit.plugin.registry import SINGULAR

__all__ = ["SUMMARY", "PYPROJECT", "README", "MODULE", "COMPONENTS", "HOOKS", "TEST_FILE", "TESTS"]

SUMMARY = {
    "generator": "a small convolutional generator (conditions flattened into the noise)",
    "discriminator": "a small convolutional discriminator",
    "loss": "the least-squares GAN loss (Mao et al. 2017)",
    "dataset": "procedurally drawn coloured discs, labelled by size (no files needed)",
    "metric": "the gap between the mean colours of real and generated images",
    "penalty": "ProGAN's drift penalty on the real logits (Karras et al. 2018)",
}

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "gankit-$name"
version = "0.1.0"
description = "gankit plugin: $families"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["gankit"]

[project.optional-dependencies]
test = ["pytest"]

# gankit finds the plugin through this entry point once the package is installed.
[project.entry-points.gankit]
$name = "$module"

[tool.setuptools]
packages = ["$module"]
"""

README = """\
# gankit-$name

A plugin for gankit, the plugin-based GAN toolkit on TensorFlow / Keras 3. It
registers:

$component_list

## Install and check

```bash
pip install -e .            # gankit list-plugins now shows '$name' (source: entry-point)
pytest                      # the gankit.testing contract checks
gankit train $train_flags --steps 5 --batch-size 8 --out runs/try-$name
```

## Develop

Each component is a factory in `$module/__init__.py`; its keyword-only parameters are
its options (`gankit list-plugins` shows them; `-o generator.width=32` sets one). The
`register_*` hooks at the bottom make them known to gankit; `register(...,
training={"lr_g": 1e-4, ...})` declares the training settings a component needs. The
contracts each family must meet are in gankit's documentation, pages "Hook reference",
"Losses" and "Writing a plugin" (`docs/hooks.md`, `docs/losses.md` and
`docs/writing-plugins.md` in gankit's source); `tests/test_contract.py` runs gankit's
contract kit, `gankit.testing`, on every component.

Publish with `python -m build` and `twine upload dist/*`; users then
`pip install gankit-$name` and the components appear in `gankit list-plugins`.
"""

MODULE = '''\
"""gankit plugin '$name': $families.

Factories import TensorFlow/Keras lazily (inside the function), so that
`gankit --help` and `gankit list-plugins` stay fast.
"""

from __future__ import annotations

from typing import Any

${imports}import gankit


$components


# === Registration: the names users type ===

$hooks
'''

COMPONENTS = {
    "generator": '''\
def build_generator(spec: gankit.ModelSpec, *, width: int = 32) -> Any:
    """Small convolutional generator: noise (+ flattened conditions) -> image."""
    import keras
    from keras import layers

    h, w, channels = spec.image_shape
    if h % 4 or w % 4:
        raise ValueError(f"image height and width must be multiples of 4, got {spec.image_shape}")
    inputs = {"z": keras.Input((spec.latent_dim,), name="z")}
    parts = [inputs["z"]]
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(shape, name=name)
        parts.append(layers.Dense(64, activation="relu")(layers.Flatten()(inputs[name])))
    x = layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
    x = layers.Dense((h // 4) * (w // 4) * width * 2, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(layers.Reshape((h // 4, w // 4, width * 2))(x))
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name="${module}_generator")''',
    "discriminator": '''\
def build_discriminator(spec: gankit.ModelSpec, *, width: int = 32) -> Any:
    """Small convolutional discriminator: image (+ flattened conditions) -> logit."""
    import keras
    from keras import layers

    inputs = {"image": keras.Input(spec.image_shape, name="image")}
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(inputs["image"]))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width * 2, 4, strides=2, padding="same")(x))
    parts = [layers.Flatten()(x)]
    for name, shape in spec.conditions.items():
        inputs[name] = keras.Input(shape, name=name)
        parts.append(layers.Dense(64, activation="relu")(layers.Flatten()(inputs[name])))
    x = layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
    logits = layers.Dense(1, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="${module}_discriminator")''',
    "loss": '''\
def least_squares_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """LSGAN: 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]."""
    from keras import ops

    real = ops.cast(real_logits, "float32")
    fake = ops.cast(fake_logits, "float32")
    return 0.5 * ops.mean(ops.square(real - 1.0)) + 0.5 * ops.mean(ops.square(fake))


def least_squares_generator_loss(fake_logits: Any) -> Any:
    """LSGAN: 0.5 E[(D(G(z)) - 1)^2]."""
    from keras import ops

    return 0.5 * ops.mean(ops.square(ops.cast(fake_logits, "float32") - 1.0))


class LeastSquaresLoss:
    """Least-squares GAN loss (Mao et al. 2017)."""

    def discriminator_loss(self, ctx: gankit.LossContext) -> Any:
        return least_squares_discriminator_loss(ctx.real_logits, ctx.fake_logits)

    def generator_loss(self, ctx: gankit.LossContext) -> Any:
        return least_squares_generator_loss(ctx.fake_logits)


def build_loss() -> LeastSquaresLoss:
    """Least-squares GAN loss (Mao et al. 2017)."""
    return LeastSquaresLoss()''',
    "dataset": '''\
class DiscsDataset:
    """Coloured discs on a dark background, drawn from a seed; label = disc size (0-4)."""

    image_shape = (32, 32, 3)
    conditions: dict[str, tuple[int, ...]] = {}
    default_conditions: tuple[str, ...] = ()
    class_names = ("radius 4", "radius 6", "radius 8", "radius 10", "radius 12")

    def __init__(self, size: int, seed: int) -> None:
        self.splits = {"train": size, "test": max(size // 5, 64)}
        self.seed = seed

    def _arrays(self, split: str) -> dict[str, np.ndarray]:
        n = self.splits[split]
        rng = np.random.default_rng([self.seed, 0 if split == "train" else 1])
        yy, xx = np.mgrid[0:32, 0:32]
        labels = rng.integers(0, 5, n)
        centres = rng.uniform(10, 22, (n, 2))
        colours = rng.uniform(0.3, 1.0, (n, 3))
        radius = (4 + 2 * labels)[:, None, None]
        dy = yy[None] - centres[:, 0, None, None]
        dx = xx[None] - centres[:, 1, None, None]
        inside = dy**2 + dx**2 <= radius**2
        images = inside[..., None] * colours[:, None, None, :] * 2.0 - 1.0
        return {"image": images.astype(np.float32), gankit.LABEL: labels.astype(np.int32)}

    def load(self, split: str, *, epoch: int = 0) -> Any:
        import tensorflow as tf

        if split not in self.splits:
            raise gankit.DataError(f"no split {split!r} (splits: {', '.join(self.splits)})")
        return tf.data.Dataset.from_tensor_slices(self._arrays(split))


def build_dataset(context: gankit.DataContext, *, size: int = 2000, seed: int = 0) -> DiscsDataset:
    """Procedurally drawn coloured discs, labelled by size (no files needed)."""
    return DiscsDataset(size, seed)''',
    "penalty": '''\
class DriftPenalty:
    """ProGAN's drift penalty: weight * E[D(x)^2] on real images (Karras et al. 2018)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def penalty(self, ctx: gankit.LossContext) -> Any:
        from keras import ops

        return self.weight * ops.mean(ops.square(ops.cast(ctx.real_logits, "float32")))


def build_penalty(*, weight: float = 0.001) -> DriftPenalty:
    """ProGAN's drift penalty on the real logits (Karras et al. 2018)."""
    return DriftPenalty(weight)''',
    "metric": '''\
class MeanColourGap:
    """Distance between the mean colours of real and generated images."""

    higher_is_better = False
    requires: tuple[str, ...] = ()

    def compute(self, ctx: gankit.EvalContext) -> float:
        real = np.asarray(ctx.real, np.float64).mean(axis=(0, 1, 2))
        fake = np.asarray(ctx.fake, np.float64).mean(axis=(0, 1, 2))
        return float(np.linalg.norm(real - fake))


def build_metric() -> MeanColourGap:
    """Distance between the mean colours of real and generated images (lower is better)."""
    return MeanColourGap()''',
}

HOOKS = {
    single: f"""\
@gankit.hookimpl
def register_{family}(register: Any) -> None:
    register("$name", build_{single})"""
    for family, single in SINGULAR.items()
}

TEST_FILE = '''\
"""gankit's contract checks for every component of this plugin, plus its registration."""

import gankit
from gankit.testing import $test_imports

import $module


def test_the_plugin_is_found_through_its_entry_point():
    mine = [c for c in gankit.registered() if c.plugin == "$name"]
    assert mine, "plugin '$name' registered nothing: `gankit list-plugins` shows why"


def test_gankit_check_passes_every_component():
    import subprocess
    import sys

    command = [sys.executable, "-m", "gankit", "check", "$module"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


$tests
'''

TESTS = {
    "generator": """\
def test_generator_meets_the_contract():
    check_generator($module.build_generator, options={"width": 8})


def test_conditional_generator_meets_the_contract():
    check_generator($module.build_generator, spec=CONDITIONAL_SPEC, options={"width": 8})""",
    "discriminator": """\
def test_discriminator_meets_the_contract():
    check_discriminator($module.build_discriminator, options={"width": 8})
    check_discriminator(
        $module.build_discriminator, spec=CONDITIONAL_SPEC, options={"width": 8}
    )""",
    "loss": """\
def test_loss_meets_the_contract():
    check_loss($module.build_loss)""",
    "dataset": """\
def test_dataset_meets_the_contract():
    import gankit

    check_dataset($module.build_dataset(gankit.DataContext(), size=100))""",
    "penalty": """\
def test_penalty_meets_the_contract():
    check_penalty($module.build_penalty)""",
    "metric": """\
def test_metric_meets_the_contract():
    check_metric($module.build_metric)""",
}
