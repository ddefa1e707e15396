"""Contract checks of dataset components, and a tiny labelled dataset for tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.conditions import LABEL
from gankit.plugin.building import example_problem
from gankit.testing.common import require

__all__ = ["check_dataset", "check_example", "check_compose_parts", "TinyLabelledDataset"]


def check_dataset(
    dataset: Any, *, split: str | None = None, n: int = 4, count_limit: int = 200_000
) -> None:
    """Check a built dataset object against the contract in ``register_datasets``.

    Attributes ``image_shape``, ``conditions``, ``default_conditions`` and ``splits``
    (with ``train`` and ``test``: evaluation, ``--eval-every`` and conditional sample
    grids read ``test``); each split yields exactly its declared number of examples
    (counted up to ``count_limit``; beyond, the first ``count_limit`` are read and the
    message says so); every example of the first ``n`` has ``image`` (float32, in
    [-1, 1], of ``image_shape``), every declared condition with its shape, and, if
    present, ``label`` as an integer scalar in ``[0, len(class_names))`` (the dataset
    then declares ``class_names``); two loads of the same split and epoch give the
    same elements. A dataset that declares ``compose_parts`` (``--parts``,
    gankit.nn.parts) must compose any drawn parts in [-1, 1] into an image and parts of
    the declared shapes, in [-1, 1], with Keras layers that save and load in safe mode.
    """
    for attr in ("image_shape", "conditions", "default_conditions", "splits", "load"):
        require(hasattr(dataset, attr), f"dataset has no `{attr}`")
    require(len(dataset.image_shape) == 3, f"image_shape {dataset.image_shape} is not (H, W, C)")
    unknown = set(dataset.default_conditions) - set(dataset.conditions)
    require(not unknown, f"default_conditions name undeclared conditions: {sorted(unknown)}")
    splits = dict(dataset.splits)
    require(splits and all(int(v) > 0 for v in splits.values()), f"bad splits {splits}")
    require("train" in splits, f"dataset has no `train` split (splits: {', '.join(splits)})")
    require(
        "test" in splits,
        (
            f"dataset has no `test` split (splits: {', '.join(splits)}): `gankit evaluate`, "
            "--eval-every "
            "and the sample grids of conditional runs read it"
        ),
    )
    for name, declared in splits.items():
        _check_split_size(dataset, name, int(declared), count_limit)
    split = split or "train"
    first = _take(dataset.load(split, epoch=0), n)
    second = _take(dataset.load(split, epoch=0), n)
    require(
        len(first) == min(n, splits[split]),
        f"load({split!r}) gave {len(first)} elements, expected {n}",
    )
    for element in first:
        check_example(dataset, element)
    for a, b in zip(first, second):
        for key in a:
            require(np.array_equal(a[key], b[key]), f"load() is not deterministic: `{key}`")
    if callable(getattr(dataset, "compose_parts", None)):
        check_compose_parts(dataset)


def check_compose_parts(dataset: Any, n: int = 4) -> None:
    """``compose_parts`` against its contract (see :func:`check_dataset`)."""
    import tempfile
    from pathlib import Path

    import keras

    from gankit.nn.parts import compose_generator, parts_shape

    require(
        bool(dataset.conditions), "compose_parts needs condition images to compose the image of"
    )
    try:
        shape = parts_shape(dataset)
    except ValueError as exc:
        raise AssertionError(str(exc)) from None
    z = keras.Input((8,), name="z")
    raw = keras.layers.Dense(int(np.prod(shape)), activation="tanh")(z)
    drawer = keras.Model({"z": z}, keras.layers.Reshape(shape)(raw))
    try:
        image_model, drawing = compose_generator(drawer, dataset, 8)
    except ValueError as exc:
        raise AssertionError(str(exc)) from None
    noise = (
        np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32) * 10
    )  # saturate: the extremes too
    for key, value in drawing({"z": noise}).items():
        value = np.asarray(value)
        require(np.isfinite(value).all(), f"compose_parts gives non-finite `{key}`")
        low, high = float(value.min()), float(value.max())
        require(
            low >= -1 - 1e-4 and high <= 1 + 1e-4,
            f"compose_parts gives `{key}` in [{low:g}, {high:g}], outside [-1, 1]",
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "composed.keras"
        try:
            image_model.save(path)
            keras.models.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # a Lambda layer, an unregistered custom layer, ...
            raise AssertionError(
                "a generator composed by compose_parts does not save and load with Keras alone: "
                f"{exc}"
            ) from None


def check_example(dataset: Any, element: dict[str, Any]) -> None:
    """One example (numpy values) against the dataset's declarations; the trainer runs
    the same check on the first batch of every run."""
    problem = example_problem(dataset, element)
    require(problem is None, problem or "")


def _check_split_size(dataset: Any, split: str, declared: int, count_limit: int) -> None:
    ds = dataset.load(split, epoch=0)
    known = int(ds.cardinality())
    if known >= 0:
        require(
            known == declared,
            f"splits[{split!r}] says {declared} examples, load({split!r}) yields {known}",
        )
        return
    counted = _count(ds, count_limit)
    if declared <= count_limit:
        require(
            counted == declared,
            f"splits[{split!r}] says {declared} examples, load({split!r}) yields {counted}",
        )
    else:
        require(
            counted == count_limit,
            (
                f"splits[{split!r}] says {declared} examples, load({split!r}) yields {counted} "
                f"(counted up to {count_limit})"
            ),
        )


def _count(ds: Any, limit: int) -> int:
    """Examples in ``ds``, reading at most ``limit + 1`` (of the images only)."""
    return int(ds.take(limit + 1).map(lambda el: 0).reduce(0, lambda total, _: total + 1))


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
    class_names = tuple(str(d) for d in range(10))

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
        return {
            "image": image * 2 - 1,
            "content": content * 2 - 1,
            "style": style * 2 - 1,
            LABEL: labels,
        }

    def load(self, split: str, *, epoch: int = 0) -> Any:
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices(self._arrays[split])


def _take(ds: Any, n: int) -> list[dict[str, np.ndarray]]:
    return [{k: np.asarray(v) for k, v in el.items()} for el in ds.take(n).as_numpy_iterator()]
