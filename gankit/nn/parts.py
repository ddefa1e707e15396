"""Drawing a dataset's parts (``--parts``): an unconditional generator that draws the
condition images a dataset composes its image from, and the dataset's rule for composing
them.

A dataset whose image is made of its condition images (mnist-cifar's ``|style - digit|``)
may declare ``compose_parts(drawn) -> {"image": ..., <part>: ...}``: Keras tensors in and
out, built from Keras layers only (so the exported generator loads with Keras alone).
``drawn`` holds, for each of the dataset's conditions in declaration order, the channels
the generator drew for it (in [-1, 1]); the result is the image and the parts the
discriminator should see beside it, as it should see them (a dataset may shape a part,
e.g. leave a digit's background exactly at -1 where the generator draws nothing, and
show only the parts worth judging apart: mnist-cifar shows the digit).

The run's generator factory then builds for ``(H, W, sum of the parts' channels)``, and
gankit wraps what it builds: :func:`compose_generator` returns the model that the trainer
trains (``z`` in, the image and the shown parts out) and the one it samples and exports
(``z`` in, the image out), sharing every weight. The discriminator is built as for a run
conditioned on the shown parts: it sees the image with them stacked, the real image with
the dataset's parts, the fake one with the drawn parts. The generator's draft of the digit
is thus judged against real digits as well as in its composite, which a discriminator
of the composite alone sees only through the background's texture
(docs/performance.md, "Legibility").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["can_compose", "parts_shape", "compose_generator", "shown_parts", "IMAGE"]

IMAGE = "image"


def can_compose(dataset: Any) -> bool:
    """Whether ``dataset`` declares ``compose_parts`` and has condition images to draw."""
    return callable(getattr(dataset, "compose_parts", None)) and bool(
        getattr(dataset, "conditions", None)
    )


def parts_shape(dataset: Any) -> tuple[int, int, int]:
    """What the generator draws: the parts stacked on channels, ``(H, W, sum of C)``."""
    shapes = [tuple(s) for s in dataset.conditions.values()]
    h, w = tuple(dataset.image_shape)[:2]
    for name, shape in zip(dataset.conditions, shapes):
        if len(shape) != 3 or shape[:2] != (h, w):
            raise ValueError(
                f"part `{name}` has shape {shape}; a drawn part must be {h}x{w}xC like the image"
            )
    return h, w, sum(s[2] for s in shapes)


def _select(x: Any, start: int, count: int, total: int, name: str) -> Any:
    """Channels ``start .. start + count`` of ``x``, moved exactly: channels to a sequence
    axis, cropped, moved back (Keras has no channel-slice layer, a Lambda would not load
    in safe mode, and a fixed 1x1 convolution would round through the matmul kernels)."""
    from keras import layers

    h, w = int(x.shape[1]), int(x.shape[2])
    y = layers.Reshape((h * w, total), dtype="float32", name=f"{name}_flat")(x)
    y = layers.Permute((2, 1), dtype="float32", name=f"{name}_channels_first")(y)
    y = layers.Cropping1D((start, total - start - count), dtype="float32", name=f"{name}_crop")(y)
    y = layers.Permute((2, 1), dtype="float32", name=f"{name}_channels_last")(y)
    return layers.Reshape((h, w, count), dtype="float32", name=name)(y)


def compose_generator(drawer: Any, dataset: Any, latent_dim: int) -> tuple[Any, Any]:
    """``(image model, drawing model)`` around ``drawer`` (``z`` -> the parts stacked):
    the first returns the composed image (sample, evaluate, export it), the second
    ``{"image", <shown part>...}`` (train it; :func:`shown_parts` names the parts).
    Raises ``ValueError`` when the dataset's ``compose_parts`` breaks its contract."""
    import keras
    from keras import layers

    z = keras.Input((latent_dim,), name="z")
    raw = layers.Activation("linear", dtype="float32", name="drawn")(drawer({"z": z}))
    total = parts_shape(dataset)[2]
    drawn, start = {}, 0
    for name, shape in dataset.conditions.items():
        drawn[name] = _select(raw, start, int(shape[2]), total, name=f"select_{name}")
        start += int(shape[2])
    composed = dataset.compose_parts(dict(drawn))
    expected = f"{{image, and one or more of {', '.join(dataset.conditions)}}}"
    if not isinstance(composed, Mapping) or IMAGE not in composed or len(composed) < 2:
        got = sorted(composed) if isinstance(composed, Mapping) else type(composed).__name__
        raise ValueError(f"compose_parts must return {expected}, returned {got}")
    unknown = sorted(set(composed) - {IMAGE, *dataset.conditions})
    if unknown:
        raise ValueError(
            f"compose_parts must return {expected}, returned unknown {', '.join(unknown)}"
        )
    shapes = {IMAGE: tuple(dataset.image_shape), **dataset.conditions}
    for key, tensor in composed.items():
        if tuple(tensor.shape[1:]) != tuple(shapes[key]):
            raise ValueError(
                f"compose_parts returned `{key}` of shape {tuple(tensor.shape[1:])}, not "
                f"{shapes[key]}"
            )
    outputs = {
        key: layers.Activation("linear", dtype="float32", name=f"drawn_{key}")(composed[key])
        for key in [IMAGE, *(c for c in dataset.conditions if c in composed)]
    }
    name = getattr(drawer, "name", "generator")
    drawing = keras.Model({"z": z}, outputs, name=f"{name}_parts")
    image = keras.Model({"z": z}, outputs[IMAGE], name=name)
    return image, drawing


def shown_parts(drawing: Any) -> list[str]:
    """The parts a drawing model shows the discriminator, in the dataset's order."""
    return [name for name in drawing.output if name != IMAGE]
