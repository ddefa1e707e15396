"""gankit.nn.layers: the same function and gradients as the Keras layers they replace."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from gankit.nn import layers as fast  # noqa: E402
from gankit.nn.precision import dtype_policy  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_paths_on(monkeypatch):
    """These tests hold gankit's own kernels to Keras's, on any CPU."""
    monkeypatch.setenv("GANKIT_FAST_PATHS", "on")


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12))


@pytest.mark.parametrize("kernel, stride, size", [(4, 2, 16), (6, 3, 12), (2, 2, 8), (4, 2, 6)])
def test_filter_gradient_matches_the_conv_kernel(kernel, stride, size):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((3, size, size, 5)), tf.float32)
    dy = tf.constant(rng.standard_normal((3, size // stride, size // stride, 7)), tf.float32)
    expected = tf.raw_ops.Conv2DBackpropFilter(
        input=x,
        filter_sizes=[kernel, kernel, 5, 7],
        out_backprop=dy,
        strides=[1, stride, stride, 1],
        padding="SAME",
    )
    np.testing.assert_allclose(
        fast.filter_gradient(x, dy, kernel, stride), expected, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("kernel, stride, size", [(4, 2, 16), (6, 3, 12), (2, 2, 8), (4, 2, 6)])
def test_matmul_convolutions_and_their_gradients_are_tensorflows(kernel, stride, size):
    """The fast path's wiring, checked exactly in float32 (the layers use it in bfloat16)."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.standard_normal((3, size, size, 5)), tf.float32)
    w = tf.constant(rng.standard_normal((kernel, kernel, 5, 7)), tf.float32)
    small = tf.constant(rng.standard_normal((3, size // stride, size // stride, 7)), tf.float32)
    out_shape = [3, size, size, 5]
    pairs = [
        (lambda a, b: fast._conv(a, b, stride), lambda a, b: tf.nn.conv2d(a, b, stride, "SAME"), x),
        (
            lambda a, b: fast._conv_transpose(a, b, stride),
            lambda a, b: tf.nn.conv2d_transpose(a, b, out_shape, stride, "SAME"),
            small,
        ),
    ]
    for ours, theirs, inputs in pairs:
        results = []
        for fn in (ours, theirs):
            with tf.GradientTape() as tape:
                tape.watch([inputs, w])
                y = fn(inputs, w)
                loss = tf.reduce_sum(y**3)
            results.append([y, *tape.gradient(loss, [inputs, w])])
        for mine, reference in zip(*results):
            assert _relative(mine, reference) < 1e-5


def _pair(fast_cls, keras_cls, shape, policy, **kwargs):
    """A gankit layer and its Keras parent with identical weights, built under ``policy``."""
    with dtype_policy(policy):
        ours, theirs = fast_cls(**kwargs), keras_cls(**kwargs, dtype="float32")
        ours.build(shape)
        theirs.build(shape)
    rng = np.random.default_rng(1)
    for a, b in zip(ours.weights, theirs.weights):
        value = (
            rng.uniform(0.5, 1.5, a.shape) if "variance" in a.path else rng.normal(0, 0.3, a.shape)
        )
        a.assign(value)
        b.assign(value)
    return ours, theirs


def _outputs_and_grads(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 3)
    return y, tape.gradient(loss, [x, *layer.trainable_weights])


CASES = [
    (
        fast.Conv2D,
        keras.layers.Conv2D,
        (4, 16, 16, 16),
        dict(filters=5, kernel_size=4, strides=2, padding="same"),
    ),
    (
        fast.Conv2DTranspose,
        keras.layers.Conv2DTranspose,
        (4, 4, 4, 6),
        dict(filters=16, kernel_size=4, strides=2, padding="same"),
    ),
    (fast.BatchNormalization, keras.layers.BatchNormalization, (4, 8, 8, 6), dict(momentum=0.5)),
]


@pytest.mark.parametrize("policy, tolerance", [("float32", 1e-5), ("mixed_bfloat16", 3e-2)])
@pytest.mark.parametrize(
    "fast_cls, keras_cls, shape, kwargs", CASES, ids=["conv", "conv_transpose", "batch_norm"]
)
def test_layers_compute_what_keras_computes(fast_cls, keras_cls, shape, kwargs, policy, tolerance):
    """Outputs, input and weight gradients against the float32 Keras layer."""
    ours, theirs = _pair(fast_cls, keras_cls, shape, policy, **kwargs)
    x = tf.constant(np.random.default_rng(2).standard_normal(shape), tf.float32)
    if policy != "float32":  # the same inputs the bfloat16 layer sees
        x = tf.cast(tf.cast(x, tf.bfloat16), tf.float32)
    y_ours, g_ours = _outputs_and_grads(ours, x)
    y_theirs, g_theirs = _outputs_and_grads(theirs, x)
    assert y_ours.dtype == tf.as_dtype(ours.compute_dtype)
    assert _relative(y_ours, y_theirs) < tolerance
    for mine, reference in zip(g_ours, g_theirs):
        assert _relative(mine, reference) < tolerance
    for mine, reference in zip(ours.non_trainable_weights, theirs.non_trainable_weights):
        np.testing.assert_allclose(
            mine.numpy(), reference.numpy(), rtol=1e-4, atol=1e-6
        )  # moving stats


@pytest.mark.parametrize("kernel, stride, size", [(4, 2, 16), (6, 3, 12), (2, 2, 8), (4, 2, 6)])
def test_patches_are_the_padded_inputs_patches(kernel, stride, size):
    x = tf.constant(np.random.default_rng(0).standard_normal((2, size, size, 3)), tf.float32)
    before = (kernel - stride) // 2
    side = [before, kernel - stride - before]
    padded = tf.pad(x, [[0, 0], side, side, [0, 0]])
    expected = tf.image.extract_patches(
        padded, [1, kernel, kernel, 1], [1, stride, stride, 1], [1, 1, 1, 1], "VALID"
    )
    np.testing.assert_array_equal(
        fast.patches(x, kernel, stride), tf.reshape(expected, [-1, kernel * kernel * 3])
    )


def test_the_matmul_path_is_taken_only_where_it_applies(monkeypatch):
    calls = []
    original = fast.patches
    monkeypatch.setattr(fast, "patches", lambda *a: calls.append(a[1:]) or original(*a))

    def backward(policy, shape, **kwargs):
        layer, _ = _pair(fast.Conv2D, keras.layers.Conv2D, shape, policy, **kwargs)
        _outputs_and_grads(layer, tf.ones(shape))

    same = dict(filters=4, kernel_size=4, strides=2, padding="same")
    backward("mixed_bfloat16", (2, 8, 8, 16), **same)
    assert calls == [(4, 2)]
    backward("float32", (2, 8, 8, 16), **same)
    backward("mixed_bfloat16", (2, 8, 8, 3), **same)  # an RGB input: oneDNN is as fast
    backward("mixed_bfloat16", (2, 9, 9, 16), **same)
    backward("mixed_bfloat16", (2, 8, 8, 16), filters=4, kernel_size=3, strides=1, padding="same")
    backward("mixed_bfloat16", (2, 8, 8, 16), filters=4, kernel_size=4, strides=2, padding="valid")
    assert calls == [(4, 2)]
    transposed, _ = _pair(
        fast.Conv2DTranspose, keras.layers.Conv2DTranspose, (2, 4, 4, 6), "mixed_bfloat16", **same
    )
    _outputs_and_grads(transposed, tf.ones((2, 4, 4, 6)))
    assert calls == [(4, 2)]  # 4 filters on the transposed conv's output: too few
    transposed, _ = _pair(
        fast.Conv2DTranspose,
        keras.layers.Conv2DTranspose,
        (2, 4, 4, 6),
        "mixed_bfloat16",
        **{**same, "filters": 16},
    )
    _outputs_and_grads(transposed, tf.ones((2, 4, 4, 6)))
    assert calls == [(4, 2), (4, 2)]


def _conv_takes_matmul_path(monkeypatch, policy):
    """Whether a 16-channel strided gankit ``Conv2D`` under ``policy`` gathers patches."""
    calls = []
    original = fast.patches
    monkeypatch.setattr(fast, "patches", lambda *a: calls.append(a[1:]) or original(*a))
    layer, _ = _pair(
        fast.Conv2D,
        keras.layers.Conv2D,
        (2, 8, 8, 16),
        policy,
        filters=4,
        kernel_size=4,
        strides=2,
        padding="same",
    )
    _outputs_and_grads(layer, tf.ones((2, 8, 8, 16)))
    return bool(calls)


def _op_types(fn, *specs):
    return [op.type for op in tf.function(fn).get_concrete_function(*specs).graph.get_operations()]


def _adam_op_types():
    from gankit.nn.optimizers import Adam

    variables = [keras.Variable(np.ones(3, "float32"))]
    optimizer = Adam(1e-3)
    optimizer.build(variables)
    return _op_types(lambda g: optimizer.apply(g, variables), [tf.TensorSpec((3,))])


@pytest.mark.parametrize("setting, gpu", [("off", False), ("auto", True)])
def test_fast_paths_are_gated_to_where_they_were_measured(monkeypatch, setting, gpu):
    """GANKIT_FAST_PATHS=off, or a GPU visible (where they were not measured faster):
    every layer and the optimizer take Keras's own path."""
    from gankit.nn import precision

    monkeypatch.setenv("GANKIT_FAST_PATHS", setting)
    monkeypatch.setattr(precision, "gpu_visible", lambda: gpu)
    precision._measured_here.cache_clear()
    assert not _conv_takes_matmul_path(monkeypatch, "mixed_bfloat16")
    assert "ResourceApplyAdam" not in _adam_op_types()
    precision._measured_here.cache_clear()


def test_on_a_cpu_without_native_bfloat16_the_fast_paths_that_paid_there_run(monkeypatch):
    """auto, no GPU, no native bfloat16 (float32 runs): batch norm's fused kernel and the
    fused Adam run (measured faster under ONEDNN_MAX_CPU_ISA=AVX2); a float32
    convolution stays on oneDNN (the matrix-product path measured slower there)."""
    from gankit.nn import precision

    monkeypatch.setenv("GANKIT_FAST_PATHS", "auto")
    monkeypatch.setattr(precision, "gpu_visible", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    precision._measured_here.cache_clear()
    assert not _conv_takes_matmul_path(monkeypatch, "float32")
    norm = fast.BatchNormalization()
    norm.build((2, 4, 4, 3))
    norm_ops = _op_types(lambda x: norm(x, training=True), tf.TensorSpec((2, 4, 4, 3)))
    assert "FusedBatchNormV3" in norm_ops
    assert "ResourceApplyAdam" in _adam_op_types()
    assert _conv_takes_matmul_path(monkeypatch, "mixed_bfloat16")  # bfloat16 still takes it
    precision._measured_here.cache_clear()


def test_models_with_gankit_layers_save_and_load(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = fast.Conv2D(4, 4, strides=2, padding="same")(inputs)
    x = fast.BatchNormalization()(x)
    outputs = fast.Conv2DTranspose(3, 4, strides=2, padding="same")(x)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_to_keras_exports_plain_keras_layers_with_the_same_function(tmp_path):
    import zipfile

    import gankit
    from gankit_plugins.dcgan import build_dcgan_generator

    spec = gankit.ModelSpec((8, 8, 3), 4, conditions={"content": (8, 8, 1), "style": (8, 8, 3)})
    with dtype_policy("mixed_bfloat16"):
        model = build_dcgan_generator(spec, width=16)
    plain = fast.to_keras(model)
    assert any(type(layer) is fast.Conv2D for layer in model.layers)
    assert not any(type(layer) in fast._KERAS_PARENTS for layer in plain.layers)
    plain.save(tmp_path / "g.keras")
    with zipfile.ZipFile(tmp_path / "g.keras") as archive:
        assert "gankit" not in archive.read("config.json").decode()
    rng = np.random.default_rng(0)
    inputs = {
        "z": rng.standard_normal((2, 4)).astype(np.float32),
        "content": rng.uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32),
        "style": rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32),
    }
    loaded = keras.models.load_model(tmp_path / "g.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)
    keras_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert fast.to_keras(keras_only) is keras_only


def test_synchronized_batch_norm_keeps_the_keras_path(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the fused kernel cannot synchronise statistics across replicas")

    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm", fail)
    layer = fast.BatchNormalization(synchronized=True)
    assert layer(tf.ones((2, 4, 4, 3)), training=True).shape == (2, 4, 4, 3)
