"""Drop-in Keras ``Conv2D`` / ``Conv2DTranspose`` / ``BatchNormalization`` that train faster
on CPUs.

On CPUs with native bfloat16 (AMX-BF16 or AVX512-BF16) a bfloat16 matrix product of
the shapes of DCGAN's strided convolutions runs faster than oneDNN's bfloat16
convolutions, whose *filter* (weight) gradient is even slower than float32's
(``docs/performance.md``, ``benchmarks/layers.py``). A ``same``-padded strided
convolution is one matrix product of its input's patches (im2col) with the kernel
reshaped to ``[k*k*C, O]``, and its filter gradient is the product of the same patches
with the output gradient. The layers gather the patches in one op, multiply, and keep
the patches from the forward pass for the filter gradient. The input gradient, and a
transposed convolution's forward pass, stay on oneDNN (turning patches back into an
image is a scatter, which is slower). In float32 oneDNN's convolutions are the faster
(measured under ``ONEDNN_MAX_CPU_ISA=AVX2``), so the matrix-product path is bfloat16's
alone; batch norm's fused kernel pays in either precision.

These layers compute the same function with the same weights as their Keras
parents, and serialise under their own names (``gankit>Conv2D``); import
``gankit.nn.layers`` before ``keras.models.load_model`` on a model that uses them.
``to_keras`` swaps them for their parents: the trainer exports ``generator.keras``
that way, so the file loads with Keras alone. Their own kernels run only where they
were measured faster, :func:`gankit.nn.precision.fast_paths` (a CPU, no GPU visible;
``GANKIT_FAST_PATHS`` overrides). The matrix-product path
needs besides: compute dtype bfloat16, channels-last, a square kernel that is a
multiple of the (equal, >= 2) strides, ``padding="same"``, no dilation or groups, spatial
sizes divisible by the stride, and
at least 16 channels on the convolution's input side (with 3, an RGB image, oneDNN's
kernels are as fast; ``benchmarks/layers.py``). Everywhere else they are exactly the
Keras layers.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gankit._tf import import_tensorflow
from gankit.nn.precision import fast_paths

__all__ = [
    "BatchNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "filter_gradient",
    "patches",
    "to_keras",
]

tf = import_tensorflow()  # first: quietly, before keras imports it
import keras  # noqa: E402


@functools.lru_cache(maxsize=64)
def _patch_indices(height: int, width: int, kernel_size: int, stride: int) -> np.ndarray:
    """Flat positions in the padded ``[H + k - s, W + k - s]`` image of every patch pixel,
    ordered (output row, output column, kernel row, kernel column)."""
    k, s = kernel_size, stride
    rows = np.arange(height // s)[:, None] * s + np.arange(k)[None, :]
    cols = np.arange(width // s)[:, None] * s + np.arange(k)[None, :]
    flat = rows[:, None, :, None] * (width + k - s) + cols[None, :, None, :]
    flat = flat.reshape(-1).astype(np.int32)
    flat.flags.writeable = False  # shared by every caller through the cache
    return flat


def patches(inputs: Any, kernel_size: int, stride: int) -> Any:
    """The patches of a ``same``-padded strided convolution's input, one row per output pixel.

    ``inputs`` is ``[B, H, W, C]`` with ``H``, ``W`` multiples of ``stride`` and
    ``kernel_size >= stride``; the result is ``[B * H/s * W/s, k * k * C]`` ordered
    (kernel row, kernel column, channel), so ``patches @ reshape(kernel, [k*k*C, O])`` is
    the convolution. Equal to ``tf.image.extract_patches`` on the padded input, made with
    one pad and one gather, which run at 3x the speed of pad + slices + concat here.
    """
    k, s = kernel_size, stride
    height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
    before = (k - s) // 2  # TensorFlow's "SAME": total padding k - s, the extra pixel after
    padded = tf.pad(inputs, [[0, 0], [before, k - s - before], [before, k - s - before], [0, 0]])
    flat = tf.reshape(padded, [-1, (height + k - s) * (width + k - s), channels])
    gathered = tf.gather(flat, _patch_indices(height, width, k, s), axis=1)
    return tf.reshape(gathered, [-1, k * k * channels])


def filter_gradient(inputs: Any, output_grad: Any, kernel_size: int, stride: int) -> Any:
    """Gradient of a ``same``-padded strided conv's loss w.r.t. its ``[k, k, C, O]`` kernel.

    ``inputs`` is the convolution's input ``[B, H, W, C]`` and ``output_grad`` the
    gradient of its output ``[B, H/s, W/s, O]`` (conditions as for ``patches``). Equal to
    ``tf.raw_ops.Conv2DBackpropFilter`` up to rounding, computed as one matrix product.
    """
    return _filter_gradient(patches(inputs, kernel_size, stride), output_grad, kernel_size)


def _filter_gradient(columns: Any, output_grad: Any, kernel_size: int) -> Any:
    filters = output_grad.shape[3]
    grad = tf.matmul(columns, tf.reshape(output_grad, [-1, filters]), transpose_a=True)
    return tf.reshape(grad, [kernel_size, kernel_size, -1, filters])


def _conv(inputs: Any, kernel: Any, stride: int) -> Any:
    k, filters = kernel.shape[0], kernel.shape[3]
    out_h, out_w = inputs.shape[1] // stride, inputs.shape[2] // stride

    @tf.custom_gradient
    def conv(x: Any, w: Any) -> Any:
        columns = patches(x, k, stride)  # kept for the filter gradient
        y = tf.matmul(columns, tf.reshape(w, [-1, filters]))
        y = tf.reshape(y, [-1, out_h, out_w, filters])

        def grad(dy: Any) -> tuple[Any, Any]:
            dx = tf.nn.conv2d_transpose(dy, w, tf.shape(x), stride, padding="SAME")
            return dx, _filter_gradient(columns, dy, k)

        return y, grad

    return conv(inputs, kernel)


def _conv_transpose(inputs: Any, kernel: Any, stride: int) -> Any:
    k, in_channels = kernel.shape[0], kernel.shape[3]
    batch = tf.shape(inputs)[0]
    output_shape = [batch, inputs.shape[1] * stride, inputs.shape[2] * stride, kernel.shape[2]]

    @tf.custom_gradient
    def conv_transpose(x: Any, w: Any) -> Any:
        def grad(dy: Any) -> tuple[Any, Any]:
            # the transposed conv is the input gradient of conv(y, w): both of its
            # gradients come from the patches of dy, as conv(y, w)'s forward pass would
            columns = patches(dy, k, stride)
            dx = tf.reshape(tf.matmul(columns, tf.reshape(w, [-1, in_channels])), tf.shape(x))
            return dx, _filter_gradient(columns, x, k)

        return tf.nn.conv2d_transpose(x, w, output_shape, stride, padding="SAME"), grad

    return conv_transpose(inputs, kernel)


MIN_CHANNELS = 16  # below this (an RGB side) oneDNN's own kernel measured faster


def _matmul_path_applies(layer: Any, spatial: tuple[Any, ...], channels: Any) -> bool:
    """Whether ``layer`` (a Keras conv) takes the fast path; ``spatial`` and ``channels``
    describe the input of the convolution (for a transposed conv: its output)."""
    stride = layer.strides[0]
    kernel = layer.kernel_size
    return (
        layer.compute_dtype == "bfloat16"
        and layer.data_format == "channels_last"
        and layer.padding == "same"
        and len(set(layer.strides)) == 1
        and stride >= 2
        and kernel[0] == kernel[1]
        and kernel[0] % stride == 0
        and tuple(layer.dilation_rate) == (1, 1)
        and getattr(layer, "groups", 1) == 1
        and all(isinstance(d, int) and d % stride == 0 for d in spatial)
        and isinstance(channels, int)
        and channels >= MIN_CHANNELS
        and fast_paths()
    )


@keras.saving.register_keras_serializable(package="gankit")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that convolves and takes its filter gradient as matrix products
    in bfloat16 on CPU."""

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if _matmul_path_applies(self, tuple(inputs.shape[1:3]), inputs.shape[-1]):
            return _conv(inputs, tf.convert_to_tensor(kernel), self.strides[0])
        return super().convolution_op(inputs, kernel)


@keras.saving.register_keras_serializable(package="gankit")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` whose bfloat16 input and filter gradients are matrix
    products on CPU, both from the patches of its output gradient."""

    def call(self, inputs: Any) -> Any:
        output_size = tuple(
            d * self.strides[0] if isinstance(d, int) else d for d in inputs.shape[1:3]
        )
        if self.output_padding is not None or not _matmul_path_applies(
            self, output_size, self.filters
        ):
            return super().call(inputs)
        outputs = _conv_transpose(inputs, tf.convert_to_tensor(self.kernel), self.strides[0])
        if self.use_bias:
            outputs = outputs + tf.reshape(
                tf.cast(self.bias, outputs.dtype), [1, 1, 1, self.filters]
            )
        if self.activation is not None:
            return self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="gankit")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that trains with TensorFlow's fused kernel.

    Keras 3 normalises with a dozen element-wise ops and, under a mixed policy, casts
    the activations to float32 and back. In training on 4-D channels-last inputs this
    layer calls ``FusedBatchNormV3`` instead (bfloat16/float16 activations, float32
    statistics, as cuDNN and oneDNN implement it), with the same result and the same
    moving-statistics update (biased batch variance, like Keras). Synchronised, masked
    or renormalised batch norm, inference, and every other shape take the Keras path.
    """

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        rank = len(inputs.shape)
        fused = (
            fast_paths()
            and training
            and self.trainable
            and mask is None
            and not getattr(self, "renorm", False)  # Keras >= 3.14 has batch renormalisation
            and not self.synchronized
            and rank == 4
            and self.axis in (-1, 3)
            and self.epsilon > 1.001e-5  # the fused kernel's lower bound
            and inputs.dtype in (tf.float32, tf.bfloat16, tf.float16)
        )
        if not fused:
            return super().call(inputs, training=training, mask=mask)
        ones = tf.ones([inputs.shape[-1]], tf.float32)
        gamma = tf.convert_to_tensor(self.gamma) if self.scale else ones
        beta = tf.convert_to_tensor(self.beta) if self.center else tf.zeros_like(ones)
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            tf.cast(gamma, tf.float32),
            tf.cast(beta, tf.float32),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        # the kernel returns the Bessel-corrected variance for the moving average;
        # Keras 3 averages the biased one
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
        variance = unbiased_variance * tf.maximum(count - 1.0, 0.0) / count
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return tf.cast(outputs, self.compute_dtype)


_KERAS_PARENTS = {
    Conv2D: keras.layers.Conv2D,
    Conv2DTranspose: keras.layers.Conv2DTranspose,
    BatchNormalization: keras.layers.BatchNormalization,
}


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found


def to_keras(model: Any) -> Any:
    """``model`` with every gankit layer replaced by its Keras parent, same weights.

    The layers differ from Keras only in how they train, so an exported model needs
    none of them: the result saves to a ``.keras`` file that loads with Keras alone.
    A model without gankit layers is returned as it is.
    """
    if not any(type(layer) in _KERAS_PARENTS for layer in _all_layers(model)):
        return model

    def clone(layer: Any) -> Any:
        cls = _KERAS_PARENTS.get(type(layer), type(layer))
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy
