"""gankit.nn.optimizers.Adam: Keras's Adam, one fused kernel per variable."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit.nn.optimizers import Adam

# The kernel takes 1 - beta in float32 (1 - 0.999 = 0.00099999), Keras rounds the
# Python double (0.001): the second moment differs by 1.3e-5 relative.
RTOL = 3e-5


@pytest.fixture(autouse=True)
def _fast_paths_on(monkeypatch):
    """These tests hold gankit's own kernels to Keras's, on any CPU."""
    monkeypatch.setenv("GANKIT_FAST_PATHS", "on")


def _train(optimizer: keras.optimizers.Optimizer, steps: int = 6) -> tuple[list, list]:
    """Apply ``steps`` fixed gradients to two fresh variables; their values and the slots."""
    rng = np.random.default_rng(0)
    variables = [
        keras.Variable(rng.normal(size=(4, 3)).astype("float32"), name="w"),
        keras.Variable(rng.normal(size=(3,)).astype("float32"), name="b"),
    ]
    grads = [
        [rng.normal(size=v.shape).astype("float32") * (i + 1) for v in variables]
        for i in range(steps)
    ]
    optimizer.build(variables)

    @tf.function(autograph=False)
    def step(g: list) -> None:
        optimizer.apply(g, variables)

    for g in grads:
        step([tf.constant(x) for x in g])
    return [v.numpy() for v in variables], [v.numpy() for v in optimizer.variables]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 2e-4, "beta_1": 0.5},
        {"learning_rate": 1e-2, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-3},
        {"learning_rate": 1e-2, "amsgrad": True},  # Keras's own path
        {"learning_rate": 1e-2, "weight_decay": 0.1, "clipnorm": 1.0},
    ],
)
def test_updates_are_keras_adams(kwargs):
    expected, expected_slots = _train(keras.optimizers.Adam(**kwargs))
    got, got_slots = _train(Adam(**kwargs))
    for a, b in zip(got + got_slots, expected + expected_slots, strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-7)


def test_loss_scaled_updates_are_keras_adams():
    expected, _ = _train(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2)))
    got, _ = _train(keras.optimizers.LossScaleOptimizer(Adam(1e-2)))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-7)


def test_each_variable_is_one_fused_update():
    variables = [keras.Variable(np.ones((4, 3), "float32")), keras.Variable(np.ones(3, "float32"))]
    optimizer = Adam(1e-3)
    optimizer.build(variables)
    graph = (
        tf.function(lambda g: optimizer.apply(g, variables))
        .get_concrete_function([tf.TensorSpec(v.shape) for v in variables])
        .graph
    )
    ops = [op.type for op in graph.get_operations()]
    assert ops.count("ResourceApplyAdam") == 2
    assert "AssignSubVariableOp" not in ops  # no element-wise update left beside it


def test_slots_and_config_are_keras_adams():
    """Same slot variables (so checkpoints restore across both) and a round-tripping config."""
    variables = [keras.Variable(np.ones((2, 2), "float32"), name="k")]
    ours = Adam(3e-4, beta_1=0.5, name="adam")
    theirs = keras.optimizers.Adam(3e-4, beta_1=0.5, name="adam")
    ours.build(variables)
    theirs.build(variables)
    assert [(v.path, v.shape) for v in ours.variables] == [
        (v.path, v.shape) for v in theirs.variables
    ]
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(ours))
    assert type(restored) is Adam and restored.get_config() == ours.get_config()


def test_the_moving_average_warms_up_like_tf_train_exponential_moving_average():
    """At update t the momentum is min(decay, (1 + t) / (10 + t)); Keras's own starts at
    the full decay, so its early averages linger at the initial weights."""
    variables = [keras.Variable(np.zeros(2, "float32"))]
    optimizer = Adam(0.1, use_ema=True, ema_momentum=0.999)
    optimizer.build(variables)
    average, expected = optimizer._model_variables_moving_average[0], np.zeros(2)
    for t in range(30):
        optimizer.apply([tf.ones(2)], variables)
        m = min(0.999, (1 + t) / (10 + t))
        expected = m * expected + (1 - m) * np.asarray(variables[0])
    np.testing.assert_allclose(np.asarray(average), expected, rtol=1e-5)
    assert Adam(0.1, use_ema=True).get_config()["ema_warmup"] is True
