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


def test_linear_decay_tail_holds_then_falls_to_zero_at_the_end():
    from gankit.nn.optimizers import LinearDecayTail

    schedule = LinearDecayTail(1e-3, start=6, end=10)
    rates = [float(schedule(step)) for step in range(12)]
    np.testing.assert_allclose(rates, [1e-3] * 7 + [7.5e-4, 5e-4, 2.5e-4, 0, 0], atol=1e-9)
    restored = LinearDecayTail.from_config(schedule.get_config())
    assert float(restored(8)) == pytest.approx(5e-4)
    with pytest.raises(ValueError, match="start <= end"):
        LinearDecayTail(1e-3, start=11, end=10)


def test_learning_rate_spreads_the_decay_over_the_last_share_of_each_optimizers_updates():
    from gankit.nn.optimizers import LinearDecayTail, learning_rate

    assert learning_rate(2e-4, 6000, 0.0) == 2e-4
    g = learning_rate(2e-4, 6000, 0.5)
    d = learning_rate(2e-4, 6000, 0.5, updates_per_step=5)  # 5 D updates a step
    assert isinstance(g, LinearDecayTail) and (g.start, g.end) == (3000, 6000)
    assert (d.start, d.end) == (15000, 30000)
    assert float(learning_rate(2e-4, 100, 1.0)(50)) == pytest.approx(1e-4)


def test_a_decaying_rate_takes_the_fused_path_as_keras_takes_it():
    from gankit.nn.optimizers import LinearDecayTail

    schedule = LinearDecayTail(1e-2, start=2, end=6)
    ours = _train(Adam(schedule, beta_1=0.5))
    keras_own = _train(keras.optimizers.Adam(LinearDecayTail(1e-2, start=2, end=6), beta_1=0.5))
    for a, b in zip(ours[0], keras_own[0]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-7)
    constant = _train(Adam(1e-2, beta_1=0.5))
    assert not np.allclose(ours[0][0], constant[0][0])


def test_group_optimizers_follow_the_run_config():
    from types import SimpleNamespace

    from gankit.nn.optimizers import LinearDecayTail, group_optimizers
    from gankit.scheme import Group

    groups = [
        Group("d", ("discriminator",), "discriminator", "d"),
        Group("g", ("generator",), "generator", "g"),
    ]
    config = SimpleNamespace(
        lr_g=1e-4,
        lr_d=4e-4,
        beta1=0.5,
        beta2=0.99,
        steps=100,
        lr_decay=0.25,
        d_steps=2,
        ema_decay=0.999,
    )
    opts = group_optimizers(config, groups, averaged={"g"})
    assert list(opts) == ["d", "g"]
    g, d = opts["g"], opts["d"]
    assert isinstance(g, Adam) and g.use_ema and g.ema_momentum == 0.999 and g.beta_2 == 0.99
    assert not d.use_ema
    assert isinstance(d._learning_rate, LinearDecayTail) and (
        d._learning_rate.start,
        d._learning_rate.end,
    ) == (150, 200)
    plain = SimpleNamespace(**{**vars(config), "lr_decay": 0.0, "ema_decay": 0.0})
    scaled = group_optimizers(plain, groups, loss_scaling=True)["g"]
    assert (
        isinstance(scaled, keras.optimizers.LossScaleOptimizer)
        and not scaled.inner_optimizer.use_ema
    )
