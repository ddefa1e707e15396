"""Class conditioning for model factories, built from plain Keras layers (so an exported
generator loads with Keras alone).

A label-conditional run (``--condition label``) hands factories a
``gankit.ModelSpec`` with ``num_classes > 0``; both models then take a ``label``
input, int32 of shape ``(B,)``. The pieces here are the standard mechanisms:

- :func:`embed_label` — the label as a vector, shared by a generator's conditional layers;
- :func:`join_label` — the embedded label concatenated with ``z`` (the
  conditional-GAN baseline, Mirza & Osindero 2014);
- :func:`conditional_batch_norm` — ``y = gamma(c) * BN(x) + beta(c)``: batch norm
  without its own affine, each class with its gain and bias (de Vries et al. 2017,
  "Modulating early visual processing by language"; as in Miyato & Koyama 2018's
  generator; the gains and biases are linear maps of a shared class embedding, as in
  BigGAN);
- :func:`projection` — ``logit = psi(h) + <embed(y), h>``: the discriminator's
  unconditional logit plus the inner product of a class embedding with its features
  (Miyato & Koyama 2018, "cGANs with Projection Discriminator");
- :func:`class_logits` — an auxiliary classifier head (ACGAN, Odena et al. 2017): the
  discriminator also predicts the class, and the trainer adds the cross-entropy of
  that prediction to both networks' losses (``docs/conditioning.md``).
"""

from __future__ import annotations

from typing import Any

from gankit.conditions import LABEL

__all__ = [
    "input_names",
    "label_input",
    "embed_label",
    "join_label",
    "generator_labels",
    "conditional_batch_norm",
    "projection",
    "class_logits",
    "CLASS_LOGITS",
    "output_names",
]

CLASS_LOGITS = "class_logits"  # an ACGAN discriminator's second output, by this name


def input_names(model: Any) -> list[str]:
    """The sorted names of a Keras model's inputs (``[]`` for a model without any)."""
    return sorted(input_shapes(model))


def input_shapes(model: Any) -> dict[str, tuple[int | None, ...]]:
    """A Keras model's inputs by name, with their shapes (batch axis ``None``)."""
    inputs = getattr(model, "inputs", None) or []
    flat = list(inputs.values()) if isinstance(inputs, dict) else list(inputs)
    return {getattr(t, "name", "").split(":")[0]: tuple(t.shape) for t in flat}


def output_names(model: Any) -> list[str]:
    """The sorted keys of a Keras model's mapping output (``[]`` for a single output, or
    a subclassed model whose outputs show only when it is called)."""
    try:
        outputs = model.output
    except (AttributeError, ValueError):
        return []
    return sorted(outputs) if isinstance(outputs, dict) else []


def label_input() -> Any:
    """The ``label`` input: int32 of shape ``(B,)``."""
    import keras

    return keras.Input((), dtype="int32", name=LABEL)


def embed_label(
    label: Any, num_classes: int, *, dim: int = 128, name: str = "class_embedding"
) -> Any:
    """The label as a ``(B, dim)`` vector with N(0, 1) entries, shared by the layers that
    condition on it (as BigGAN shares one class embedding across its conditional batch
    norms): of the scale of ``z``, and each layer's gain and bias are a dense map of
    it, so they adapt fast (an embedding row per class and channel would move by at
    most Adam's learning rate per step)."""
    from keras import initializers, layers

    return layers.Embedding(
        num_classes, dim, embeddings_initializer=initializers.RandomNormal(0.0, 1.0), name=name
    )(label)


def join_label(z: Any, embedded: Any, *, name: str = LABEL) -> Any:
    """``concat(z, embedded label)``: the conditional-GAN baseline."""
    from keras import layers

    return layers.Concatenate(name=f"{name}_join")([z, embedded])


def conditional_batch_norm(x: Any, embedded: Any, *, name: str, batch_norm: Any = None) -> Any:
    """Batch norm whose gain and bias are the class's: ``gamma(y) * BN(x) + beta(y)``,
    ``gamma`` and ``beta`` dense maps of the embedded label (:func:`embed_label`) that
    start near 1 and 0 (kernels N(0, 0.02)), so the layer starts close to plain batch
    norm and already depends on the label.

    ``batch_norm`` is the layer class to normalise with (``keras.layers.BatchNormalization``
    or gankit's fused one); it is built with ``center=False, scale=False``.
    """
    from keras import initializers, layers

    channels = int(x.shape[-1])
    norm = (batch_norm or layers.BatchNormalization)(center=False, scale=False, name=f"{name}_bn")(
        x
    )
    shape = (1,) * (len(x.shape) - 2) + (channels,)
    small = initializers.RandomNormal(0.0, 0.02)
    gamma = layers.Dense(
        channels, kernel_initializer=small, bias_initializer="ones", name=f"{name}_gamma"
    )(embedded)
    beta = layers.Dense(channels, kernel_initializer=small, name=f"{name}_beta")(embedded)
    gamma = layers.Reshape(shape, name=f"{name}_gamma_map")(gamma)
    beta = layers.Reshape(shape, name=f"{name}_beta_map")(beta)
    return layers.Add(name=f"{name}_shift")(
        [layers.Multiply(name=f"{name}_scale")([norm, gamma]), beta]
    )


def generator_labels(
    inputs: dict[str, Any], num_classes: int, mode: str, batch_norm: Any
) -> tuple[Any, Any]:
    """A generator's label machinery: adds the ``label`` input to ``inputs`` when
    ``num_classes > 0`` and returns ``(join, norm)``. ``join(z)`` is ``z``, or for
    ``mode="concat"`` :func:`join_label`; ``norm(x)`` is ``batch_norm()(x)``, or for
    ``mode="cbn"`` :func:`conditional_batch_norm` (layers named ``cbn0``, ``cbn1``, ...)."""
    if not num_classes:
        return (lambda z: z), (lambda x: batch_norm()(x))
    label = inputs[LABEL] = label_input()
    embedded = embed_label(label, num_classes)
    count = iter(range(10_000))

    def norm(x: Any) -> Any:
        if mode == "cbn":
            return conditional_batch_norm(
                x, embedded, name=f"cbn{next(count)}", batch_norm=batch_norm
            )
        return batch_norm()(x)

    return (lambda z: join_label(z, embedded) if mode == "concat" else z), norm


def projection(
    features: Any, label: Any, logits: Any, num_classes: int, *, name: str = "projection"
) -> Any:
    """``logits + <embed(label), features>`` for flat ``features`` ``(B, F)`` and
    ``logits`` ``(B, 1)``; float32 out."""
    from keras import layers

    embedded = layers.Embedding(num_classes, int(features.shape[-1]), name=f"{name}_embed")(label)
    inner = layers.Dot(axes=1, name=f"{name}_inner")([embedded, features])
    return layers.Add(dtype="float32", name=f"{name}_logits")([logits, inner])


def class_logits(features: Any, num_classes: int, *, spectral_norm: bool = False) -> Any:
    """The auxiliary classifier's logits ``(B, num_classes)``, float32, named
    :data:`CLASS_LOGITS` (a discriminator returns ``{"logits": ..., "class_logits": ...}``)."""
    from keras import layers

    dense = layers.Dense(num_classes, dtype="float32", name="class_dense")
    if spectral_norm:
        dense = layers.SpectralNormalization(dense, dtype="float32", name="class_sn")
    return layers.Activation("linear", dtype="float32", name=CLASS_LOGITS)(dense(features))
