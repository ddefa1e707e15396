"""Contract checks for gankit components, for built-in and third-party plugins alike.

Call them from your plugin's tests (like scikit-learn's ``check_estimator``)::

    from gankit.testing import check_generator
    from gankit_myplugin import build_my_generator

    def test_my_generator_meets_the_contract():
        check_generator(build_my_generator, options={"width": 8})

Each check raises ``AssertionError`` with a message saying which part of the contract
failed, and returns nothing when the component meets it. Keep ``options`` small so the
checks run in seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.types import LossContext, ModelSpec

__all__ = [
    "DEFAULT_SPEC",
    "CONDITIONAL_SPEC",
    "check_generator",
    "check_discriminator",
    "check_loss",
    "check_dataset",
    "check_metric",
    "TinyLabelledDataset",
]

DEFAULT_SPEC = ModelSpec(image_shape=(32, 32, 3), latent_dim=16)
CONDITIONAL_SPEC = ModelSpec(
    image_shape=(32, 32, 3), latent_dim=16, conditions={"content": (32, 32, 1), "style": (32, 32, 3)}
)


def check_generator(
    factory: Callable[..., Any],
    *,
    spec: ModelSpec = DEFAULT_SPEC,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 3,
    seed: int = 0,
) -> None:
    """Check a generator factory against the contract in ``register_generators``.

    Output shape (B, H, W, C), float32, values in [-1, 1]; a gradient reaches every
    trainable weight; the ``.keras`` round trip (``safe_mode=True``) gives identical
    outputs; building twice under the same seed gives identical outputs.
    """
    rng = np.random.default_rng(seed)
    inputs = {"z": rng.standard_normal((batch_size, spec.latent_dim)).astype(np.float32)}
    inputs.update(_condition_inputs(spec, batch_size, rng))
    images = _check_model(factory, spec, options, seed, inputs, "generator")
    expected = (batch_size, *spec.image_shape)
    assert images.shape == expected, f"generator output shape {images.shape} != {expected}"
    assert images.min() >= -1.0 and images.max() <= 1.0, (
        f"generator output range [{images.min():.3f}, {images.max():.3f}] exceeds [-1, 1]"
    )


def check_discriminator(
    factory: Callable[..., Any],
    *,
    spec: ModelSpec = DEFAULT_SPEC,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 3,
    seed: int = 0,
) -> None:
    """Check a discriminator factory against the contract in ``register_discriminators``.

    Output logits (B, 1) or a patch map (B, h, w, 1), float32 and finite; a gradient
    reaches every trainable weight and the input image; the ``.keras`` round trip gives
    identical outputs; seeded builds are identical.
    """
    rng = np.random.default_rng(seed)
    inputs = {"image": rng.uniform(-1, 1, (batch_size, *spec.image_shape)).astype(np.float32)}
    inputs.update(_condition_inputs(spec, batch_size, rng))
    logits = _check_model(factory, spec, options, seed, inputs, "discriminator", wrt_input="image")
    assert logits.shape[0] == batch_size and logits.shape[-1] == 1 and logits.ndim in (2, 4), (
        f"discriminator output shape {logits.shape} is neither (B, 1) nor (B, h, w, 1)"
    )


def _check_model(
    factory: Callable[..., Any],
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    seed: int,
    inputs: dict[str, np.ndarray],
    what: str,
    wrt_input: str | None = None,
) -> np.ndarray:
    """The checks both model families share; returns the inference output."""
    model = _build(factory, spec, options, seed)
    _check_input_names(model, list(inputs), what)
    out = np.asarray(model(inputs, training=False))
    assert out.dtype == np.float32, f"{what} output dtype {out.dtype} != float32"
    assert np.all(np.isfinite(out)), f"{what} output has non-finite values"
    _check_gradients(model, inputs, what, wrt_input)
    _check_round_trip(model, inputs, what)
    again = _build(factory, spec, options, seed)
    np.testing.assert_array_equal(
        out, np.asarray(again(inputs, training=False)),
        err_msg=f"{what}: two builds under the same seed differ",
    )
    return out


def check_loss(
    factory: Callable[..., Any], *, options: Mapping[str, Any] | None = None, batch_size: int = 8
) -> None:
    """Check a loss factory against the contract in ``register_losses``.

    Both losses are finite float scalars with gradients to the logits; the
    discriminator's loss is lower when it separates real from fake correctly than when
    it has them reversed; the generator's loss is lower when fakes are judged real.
    Works for losses that need only the logits and images of ``LossContext``.
    """
    import tensorflow as tf

    loss = factory(**dict(options or {}))
    for method in ("discriminator_loss", "generator_loss"):
        assert callable(getattr(loss, method, None)), f"loss object has no {method}(ctx) method"
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (batch_size, 8, 8, 3)).astype(np.float32))
    high = tf.constant(rng.uniform(2.0, 4.0, (batch_size, 1)).astype(np.float32))
    low = -high

    def ctx(real: Any, fake: Any) -> LossContext:
        return LossContext(images, images * 0.5, real, fake, {}, None)

    good, bad = ctx(high, low), ctx(low, high)
    for method in ("discriminator_loss", "generator_loss"):
        value = getattr(loss, method)(good)
        arr = np.asarray(value)
        assert arr.shape == (), f"{method} returned shape {arr.shape}, expected a scalar"
        assert np.isfinite(arr), f"{method} is not finite"
    d_good, d_bad = float(loss.discriminator_loss(good)), float(loss.discriminator_loss(bad))
    assert d_good < d_bad, (
        f"discriminator_loss is not lower for a correct discriminator ({d_good} >= {d_bad})"
    )
    g_fooled, g_caught = float(loss.generator_loss(bad)), float(loss.generator_loss(good))
    assert g_fooled < g_caught, (
        f"generator_loss is not lower when fakes are judged real ({g_fooled} >= {g_caught})"
    )
    real, fake = tf.Variable(high), tf.Variable(low)
    with tf.GradientTape() as tape:
        total = loss.discriminator_loss(ctx(real, fake)) + loss.generator_loss(ctx(real, fake))
    grads = tape.gradient(total, [real, fake])
    assert grads[1] is not None, "no gradient from the losses to the fake logits"


def check_dataset(dataset: Any, *, split: str | None = None, n: int = 4) -> None:
    """Check a built dataset object against the contract in ``register_datasets``.

    Attributes ``image_shape``, ``conditions``, ``default_conditions`` and ``splits``;
    ``load(split)`` yields dicts with ``image`` (float32, in [-1, 1], of
    ``image_shape``) and every declared condition with its shape; two loads of the
    same split and epoch give the same elements.
    """
    for attr in ("image_shape", "conditions", "default_conditions", "splits", "load"):
        assert hasattr(dataset, attr), f"dataset has no `{attr}`"
    assert len(dataset.image_shape) == 3, f"image_shape {dataset.image_shape} is not (H, W, C)"
    unknown = set(dataset.default_conditions) - set(dataset.conditions)
    assert not unknown, f"default_conditions name undeclared conditions: {sorted(unknown)}"
    splits = dict(dataset.splits)
    assert splits and all(int(v) > 0 for v in splits.values()), f"bad splits {splits}"
    split = split or next(iter(splits))
    first = _take(dataset.load(split, epoch=0), n)
    second = _take(dataset.load(split, epoch=0), n)
    assert len(first) == n, f"load({split!r}) gave {len(first)} elements, expected at least {n}"
    for element in first:
        image = element.get("image")
        assert image is not None, "element has no `image`"
        assert tuple(image.shape) == tuple(dataset.image_shape), (
            f"image shape {image.shape} != image_shape {dataset.image_shape}"
        )
        assert image.dtype == np.float32, f"image dtype {image.dtype} != float32"
        assert image.min() >= -1.0 and image.max() <= 1.0, "image values outside [-1, 1]"
        for name, shape in dataset.conditions.items():
            assert name in element, f"element has no condition `{name}`"
            assert tuple(element[name].shape) == tuple(shape), (
                f"condition `{name}` shape {element[name].shape} != {shape}"
            )
    for a, b in zip(first, second):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"load() is not deterministic: `{key}`")


class TinyLabelledDataset:
    """A small in-memory paired dataset for tests: 32x32 images, content, style, label.

    The content is a vertical bar whose position is the label (10 classes); the style
    a smooth colour field; the image their MNIST-M style composite. Meets the dataset
    contract, so metrics and the classifier extractor can be exercised in seconds.
    """

    image_shape = (32, 32, 3)
    conditions = {"content": (32, 32, 1), "style": (32, 32, 3)}
    default_conditions = ("content", "style")
    paired = True

    def __init__(self, n_train: int = 200, n_test: int = 64, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.splits = {"train": n_train, "test": n_test}
        self._arrays = {split: self._make(n, rng) for split, n in self.splits.items()}

    @staticmethod
    def _make(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        labels = rng.integers(0, 10, n).astype(np.int32)
        content = np.zeros((n, 32, 32, 1), np.float32)
        for i, label in enumerate(labels):
            content[i, 6:26, 3 + 3 * label : 5 + 3 * label] = 1.0
        base = rng.uniform(0, 1, (n, 1, 1, 3))
        ramp = np.broadcast_to(np.linspace(0, 0.3, 32)[None, :, None, None], (n, 32, 32, 1))
        style = np.clip(base + ramp, 0, 1).astype(np.float32)
        image = np.abs(style - content)
        return {"image": image * 2 - 1, "content": content * 2 - 1, "style": style * 2 - 1, "label": labels}

    def load(self, split: str, *, epoch: int = 0) -> Any:
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices(self._arrays[split])


def check_metric(
    factory: Callable[..., Any],
    *,
    options: Mapping[str, Any] | None = None,
    n: int = 48,
    seed: int = 0,
) -> None:
    """Check a metric factory against the contract in ``register_metrics``.

    The metric has a boolean ``higher_is_better`` and a ``compute(ctx)``; on a tiny
    labelled dataset (:class:`TinyLabelledDataset`, conditioned on content and style)
    it returns a finite number (or a dict with a finite ``"value"``), the same number
    twice for the same generator, and a different one for a generator that outputs
    noise instead of the real images. Uses a temporary cache for the classifier.
    """
    from gankit.eval.evaluator import Evaluator, SelectedMetric

    metric = factory(**dict(options or {}))
    assert isinstance(getattr(metric, "higher_is_better", None), bool), (
        "metric has no boolean `higher_is_better`"
    )
    assert callable(getattr(metric, "compute", None)), "metric has no compute(ctx) method"
    requires = tuple(getattr(metric, "requires", ()))
    assert all(isinstance(r, str) for r in requires), "`requires` must be a tuple of names"
    dataset = TinyLabelledDataset(seed=seed)
    examples = dataset._arrays["test"]

    def generator(images: np.ndarray) -> Callable[..., np.ndarray]:
        def call(inputs: Mapping[str, Any], training: bool = False) -> np.ndarray:
            count = len(inputs["z"])
            start = call.offset
            call.offset += count
            return images[start : start + count]

        call.offset = 0
        return call

    noise = np.random.default_rng(seed).uniform(-1, 1, examples["image"].shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        evaluator = Evaluator(
            [SelectedMetric("checked", metric, dict(options or {}), "test")], dataset,
            dataset_key={"dataset": "tiny-labelled"}, conditions=["content", "style"],
            latent_dim=4, split="test", n=n, seed=seed, cache_dir=Path(tmp),
        )
        order = evaluator.examples()  # the evaluator's shuffled sample, to align fakes with it
        real_like = order["image"]
        values = []
        for images in (real_like, real_like, noise[:n]):
            record = evaluator.evaluate(generator(images), step=0)[0]
            assert np.isfinite(record["value"]), f"metric value {record['value']} is not finite"
            values.append(record["value"])
    assert values[0] == values[1], f"metric is not deterministic ({values[0]} != {values[1]})"
    assert values[0] != values[2], "metric gives the same value for real images and for noise"


def _take(ds: Any, n: int) -> list[dict[str, np.ndarray]]:
    return [{k: np.asarray(v) for k, v in el.items()} for el in ds.take(n).as_numpy_iterator()]


def _build(factory: Callable[..., Any], spec: ModelSpec, options: Mapping[str, Any] | None, seed: int) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    return factory(spec, **dict(options or {}))


def _condition_inputs(spec: ModelSpec, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        name: rng.uniform(-1, 1, (batch, *shape)).astype(np.float32)
        for name, shape in spec.conditions.items()
    }


def _check_input_names(model: Any, expected: list[str], what: str) -> None:
    names = sorted(getattr(t, "name", "").split(":")[0] for t in _flat_inputs(model))
    assert sorted(expected) == names, f"{what} inputs are {names}, expected {sorted(expected)}"


def _flat_inputs(model: Any) -> list[Any]:
    inputs = model.inputs if hasattr(model, "inputs") else []
    return list(inputs.values()) if isinstance(inputs, dict) else list(inputs)


def _check_gradients(model: Any, inputs: Mapping[str, np.ndarray], what: str, wrt_input: str | None = None) -> None:
    import tensorflow as tf

    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    with tf.GradientTape() as tape:
        if wrt_input:
            tape.watch(tensors[wrt_input])
        out = model(tensors, training=True)
        weights = tf.constant(np.random.default_rng(1).standard_normal(out.shape).astype(np.float32))
        objective = tf.reduce_sum(tf.cast(out, tf.float32) * weights)
    targets = list(model.trainable_variables)
    extra = [tensors[wrt_input]] if wrt_input else []
    grads = tape.gradient(objective, targets + extra)
    dead = [v.path if hasattr(v, "path") else v.name for v, g in zip(targets, grads) if g is None or not np.any(np.asarray(g))]
    assert not dead, f"{what}: no gradient reaches {', '.join(dead[:5])}"
    if wrt_input:
        assert grads[-1] is not None, f"{what}: no gradient reaches the input `{wrt_input}`"


def _check_round_trip(model: Any, inputs: Mapping[str, np.ndarray], what: str) -> None:
    import keras

    import gankit.nn.layers  # noqa: F401  (registers gankit's layers for load_model)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_allclose(
        np.asarray(model(dict(inputs), training=False)),
        np.asarray(loaded(dict(inputs), training=False)),
        rtol=0, atol=1e-6, err_msg=f"{what}: .keras save/load changes the outputs",
    )
