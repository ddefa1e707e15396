"""Feature extractors for metrics: InceptionV3 (ImageNet) and a dataset classifier.

- ``inception``: Keras's InceptionV3 without its top, average-pooled (2048 features),
  on images resized to 299x299 — the network FID and KID are usually reported with.
  Its weights come from ``weights=FILE``, else the Keras cache
  (``~/.keras/models/``), else a download (hash-checked); offline without them the
  error says how to provide them.
- ``classifier``: a small CNN gankit trains once on the dataset's labelled real
  images (``label``) and caches under the user cache directory, keyed by dataset,
  dataset options and seed. It works offline and, unlike an ImageNet network, knows
  what a digit is, so it also gives class probabilities (classifier score, content
  accuracy) and early feature maps (style statistics). On a dataset without labels
  (an unsorted image folder) it learns instead which of four quarter turns an image
  was given (rotation prediction, Gidaris et al. 2018): features that describe the
  objects and their orientation in the user's own images, with no download. Its FID
  is comparable between runs on the same data, not with published FIDs.

Extractors take images in [-1, 1], (n, H, W, C) with C = 1 or 3, as NumPy arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.conditions import LABEL
from gankit.data import RemoteFile, fetch, user_cache_dir
from gankit.errors import DataError, GankitError
from gankit.types import DataContext

__all__ = [
    "EXTRACTORS",
    "InceptionExtractor",
    "DatasetClassifier",
    "user_cache_dir",
    "make_extractor",
]

EXTRACTORS = ("inception", "classifier")
MAX_PASSES = 30  # passes over a small training split by the classifier
BATCH = 250

INCEPTION_NOTOP = RemoteFile(
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "bcbd6486424b2319ff4ef7d526e38f63",  # md5, as Keras publishes it
)


def _three_channels(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (n, H, W, 1 or 3), got {images.shape}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


class InceptionExtractor:
    """2048 pooled InceptionV3 features of images resized to 299x299."""

    name = "inception"

    def __init__(self, context: DataContext, weights: str | None = None) -> None:
        import keras

        from gankit.nn.precision import dtype_policy

        path = Path(weights).expanduser() if weights else self._cached_weights(context)
        if not path.is_file():
            raise DataError(f"InceptionV3 weights file {path} does not exist")
        with dtype_policy("float32"):
            self.model = keras.applications.InceptionV3(
                include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg"
            )
        try:
            self.model.load_weights(str(path))
        except Exception as exc:
            raise DataError(f"cannot load InceptionV3 weights from {path}: {exc}") from None
        self.weights_file = str(path)
        self._fn = None

    @staticmethod
    def _cached_weights(context: DataContext) -> Path:
        cached = context.cache_dir.parent / "models" / INCEPTION_NOTOP.filename
        if cached.is_file():
            return cached
        try:
            return fetch(context, INCEPTION_NOTOP, subdir="models")
        except DataError as exc:
            raise DataError(
                f"InceptionV3 weights not found: put {INCEPTION_NOTOP.filename} in "
                f"{cached.parent} or pass --weights FILE (or -o metric.weights=FILE); "
                f"-o metric.extractor=classifier works offline ({exc})"
            ) from None

    def features(self, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._fn is None:

            @tf.function(reduce_retracing=True)
            def embed(x: Any) -> Any:
                x = tf.image.resize(x, (299, 299), method="bilinear")
                return self.model(x, training=False)  # InceptionV3 takes [-1, 1] inputs

            self._fn = embed
        x = _three_channels(images)
        return np.concatenate(
            [np.asarray(self._fn(tf.constant(x[i : i + BATCH]))) for i in range(0, len(x), BATCH)]
        ).astype(np.float64)


class DatasetClassifier:
    """A CNN trained on a dataset's labelled real images; cached per dataset and seed.

    ``features`` are its 128-unit penultimate layer, ``probabilities`` its softmax and
    ``style_maps`` the feature maps of its first block (32x32 input → 16x16x32),
    whose channel statistics describe texture and colour rather than class.
    """

    name = "classifier"
    VERSION = 3  # bump when the architecture or training changes: invalidates caches

    def __init__(self, model: Any, info: Mapping[str, Any]) -> None:
        import keras

        self.model = model
        self.info = dict(info)
        self._heads = keras.Model(
            model.inputs,
            [
                model.get_layer("features").output,
                model.get_layer("probabilities").output,
                model.get_layer("style").output,
            ],
        )

    # === Building and caching ===

    @classmethod
    def for_dataset(
        cls,
        dataset: Any,
        key: Mapping[str, Any],
        *,
        seed: int = 0,
        epochs: int = 3,
        cache_dir: Path | None = None,
        log: Any = None,
    ) -> DatasetClassifier:
        """The cached classifier for ``key`` (dataset name and options), or train one."""
        import keras

        ident = {
            "key": dict(key),
            "seed": seed,
            "epochs": epochs,
            "version": cls.VERSION,
            "image_shape": list(dataset.image_shape),
        }
        digest = hashlib.sha256(
            json.dumps(ident, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        folder = (cache_dir or user_cache_dir()) / "classifiers"
        name = f"{key.get('dataset', 'dataset')}-seed{seed}-{digest}"
        model_path, info_path = folder / f"{name}.keras", folder / f"{name}.json"
        if model_path.is_file() and info_path.is_file():
            try:
                model = keras.models.load_model(model_path, safe_mode=True, compile=False)
                return cls(model, json.loads(info_path.read_text()))
            except Exception:  # a damaged cache entry is rebuilt, not fatal
                pass
        if log:
            log(
                f"training the {key.get('dataset')} classifier for metrics (once; cached in "
                f"{folder})"
            )
        model, info = _train_classifier(dataset, seed=seed, epochs=epochs)
        info.update(ident)
        _save_model(model, model_path)
        from gankit.io.files import atomic_write_text

        atomic_write_text(info_path, json.dumps(info, indent=2) + "\n")
        return cls(model, info)

    # === Use ===

    def _run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(images, np.float32)
        outs = [
            self._heads({"image": x[i : i + BATCH]}, training=False)
            for i in range(0, len(x), BATCH)
        ]
        return tuple(
            np.concatenate([np.asarray(o[k]) for o in outs]).astype(np.float64) for k in range(3)
        )

    def features(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[1]

    def style_maps(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[2]


def _save_model(model: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GankitError(f"cannot write {path}: {exc.strerror or exc}") from None


def _build_classifier(image_shape: tuple[int, ...], classes: int) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input(image_shape, name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(name="style")(x)
    for filters in (64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu", name="features")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="gankit_classifier")


def _train_classifier(dataset: Any, *, seed: int, epochs: int) -> tuple[Any, dict[str, Any]]:
    """Train in the machine's fast precision; return a float32 copy for inference."""
    import keras
    import tensorflow as tf

    from gankit.nn.precision import dtype_policy, gpu_visible, resolve_precision

    task = "labels" if LABEL in dataset.load("train", epoch=0).element_spec else "rotation"

    def pairs(split: str, epoch: int = 0) -> Any:
        ds = dataset.load(split, epoch=epoch)
        if task == "labels":
            return ds.map(lambda el: (el["image"], el[LABEL]), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.map(_rotations, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    # One pass of dataset.load(epoch=e) per epoch, so a dataset that varies by epoch
    # (mnist-cifar's repair_each_epoch) shows the classifier every variation. A small
    # dataset (a user's folder) gets more passes: about 20,000 examples seen in all.
    passes = max(epochs, min(MAX_PASSES, -(-20_000 // max(int(dataset.splits["train"]), 1))))
    train = pairs("train", 0)
    for epoch in range(1, passes):
        train = train.concatenate(pairs("train", epoch))
    train = train.shuffle(20_000, seed=seed).batch(128).prefetch(tf.data.AUTOTUNE)
    labels = np.concatenate([y for _, y in pairs("train").batch(4096).as_numpy_iterator()])
    classes = int(labels.max()) + 1
    keras.utils.set_random_seed(seed)
    device = "GPU" if gpu_visible() else "CPU"
    with dtype_policy(resolve_precision("auto", device)):
        trained = _build_classifier(tuple(dataset.image_shape), classes)
    # The rate decays to zero: at a constant rate the last steps still move the weights
    # far enough that batch norm's moving statistics lag them (MNIST read at 92% in
    # inference against 98% with batch statistics).
    steps = max(1, passes * int(dataset.splits["train"]) * (4 if task == "rotation" else 1) // 128)
    rate = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
    trained.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings():  # Keras warns that a one-pass dataset "ran out of data"
        warnings.simplefilter("ignore", UserWarning)
        trained.fit(train, epochs=1, verbose=0, shuffle=False)  # `train` is shuffled already
    with dtype_policy("float32"):
        model = _build_classifier(tuple(dataset.image_shape), classes)
    model.set_weights(trained.get_weights())  # variables are float32 under every policy
    recalibrate_batch_norm(model, pairs("train").map(lambda x, y: x).batch(256))
    info: dict[str, Any] = {
        "task": task,
        "classes": classes,
        "train_examples": int(len(labels)),
        "passes": passes,
    }
    if dataset.splits.get("test"):
        correct = total = 0
        for x, y in pairs("test").batch(500).as_numpy_iterator():
            correct += int((np.asarray(model(x, training=False)).argmax(1) == y).sum())
            total += len(y)
        info["test_accuracy"] = round(correct / total, 4)
    return model, info


def recalibrate_batch_norm(model: Any, images: Any, max_batches: int = 16) -> None:
    """Set every BatchNormalization layer's moving statistics to the trained model's
    population statistics: the mean, over up to ``max_batches`` batches of ``images``,
    of each batch's statistics. Weights do not change.

    Moving averages (momentum 0.99) need a few hundred steps to forget their initial
    values; a classifier trained for fewer (a small folder: 37 steps for 160 images)
    would otherwise be judged in inference with statistics that are mostly the
    initial zeros and ones, far below its accuracy with batch statistics.
    """
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return
    saved = [layer.momentum for layer in norms]
    try:
        for i, batch in enumerate(images.take(max_batches)):
            for layer in norms:  # a running mean of the batches' statistics
                layer.momentum = i / (i + 1)
            model(batch, training=True)
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum


def _rotations(element: Any) -> tuple[Any, Any]:
    """The four quarter turns of a (square) image, labelled 0-3: the pretext task of
    Gidaris et al. 2018, which needs no labels."""
    import tensorflow as tf

    image = element["image"]
    return tf.stack([tf.image.rot90(image, k) for k in range(4)]), tf.range(4, dtype=tf.int32)


def make_extractor(
    name: str,
    *,
    dataset: Any,
    dataset_key: Mapping[str, Any],
    context: DataContext,
    seed: int = 0,
    weights: str | None = None,
    log: Any = None,
    cache_dir: Path | None = None,
) -> InceptionExtractor | DatasetClassifier:
    """The extractor ``name`` (one of :data:`EXTRACTORS`)."""
    if name == "inception":
        return InceptionExtractor(context, weights or None)
    if name == "classifier":
        return DatasetClassifier.for_dataset(
            dataset, dataset_key, seed=seed, log=log, cache_dir=cache_dir
        )
    raise GankitError(f"unknown feature extractor {name!r} (choose from {', '.join(EXTRACTORS)})")
