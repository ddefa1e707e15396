"""Contract checks of loss factories: the values a loss gives on chosen logits, and a
training step of small real models under every precision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gankit.testing.common import (
    CONDITIONAL_SPEC,
    DEFAULT_SPEC,
    PRECISIONS,
    build_model,
    condition_inputs,
    require,
    require_registrable,
)
from gankit.testing.probes import ProbeDiscriminator
from gankit.testing.reference import reference_discriminator, reference_generator
from gankit.types import LossContext, ModelSpec

__all__ = ["check_loss", "check_penalty", "ProbeDiscriminator", "loss_value"]

# |d loss / d logit_i| may be at most this over the batch size B: a mean over the batch
# of terms whose slope is O(1) in the logits. A summed or scaled loss is far above.
SLOPE_LIMIT = 10.0
PROBE_SHAPE = (8, 8, 3)


def check_loss(
    factory: Callable[..., Any],
    *,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    seed: int = 0,
    precisions: tuple[str, ...] = PRECISIONS,
) -> None:
    """Check a loss factory against the contract in ``register_losses``.

    On chosen logits, with a linear probe discriminator present: the discriminator's
    loss is lower when it separates real from fake than when it has them reversed, the
    generator's loss lower when fakes are judged real (a flipped sign fails); each is
    the *mean* over the batch (doubling the batch by repeating it leaves it unchanged;
    a sum fails) and no example's logit moves it by more than ``10 / B`` per unit (a
    loss scaled by 1000 fails); the discriminator's loss does not fall when the
    discriminator's gradient norm grows while its logits stay the same (a gradient
    penalty subtracted instead of added fails). Then, under every precision the trainer
    may pick, for an unconditional and a paired conditional run, with small real
    models: both losses are float32 scalars (a mapping with ``"loss"`` and extra
    scalars is fine), finite, and carry a gradient to the discriminator's and the
    generator's weights respectively.
    """
    require_registrable("losses", factory)
    loss = factory(**dict(options or {}))
    for method in ("discriminator_loss", "generator_loss"):
        require(callable(getattr(loss, method, None)), f"loss object has no {method}(ctx) method")
    _check_values(loss, batch_size, seed)
    for precision in precisions:
        for spec, paired in ((DEFAULT_SPEC, False), (CONDITIONAL_SPEC, True)):
            _check_training_step(loss, spec, paired, precision, batch_size, seed)


def check_penalty(
    factory: Callable[..., Any],
    *,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    seed: int = 0,
    precisions: tuple[str, ...] = PRECISIONS,
) -> None:
    """Check a penalty factory against the contract in ``register_penalties``.

    ``penalty(ctx)`` is a finite float32 scalar (or a mapping with ``"loss"``), the mean
    over the batch (repeating the batch leaves it unchanged), that does not fall when
    the discriminator's gradient norm grows while its logits stay the same (a penalty
    with the wrong sign fails); ``every``, if present, is a positive integer; under
    every precision, with a small real discriminator, it is finite and carries no
    non-finite gradient to the discriminator's weights.
    """
    import tensorflow as tf

    require_registrable("penalties", factory)
    penalty = factory(**dict(options or {}))
    require(
        callable(getattr(penalty, "penalty", None)), "penalty object has no penalty(ctx) method"
    )
    every = getattr(penalty, "every", 1)
    require(
        isinstance(every, int) and every >= 1, f"`every` must be a positive integer, not {every!r}"
    )
    _check_penalty_probes(penalty, batch_size, seed)
    rng = np.random.default_rng(seed)
    for precision in precisions:
        D = build_model(reference_discriminator, DEFAULT_SPEC, None, seed, precision)
        images = tf.constant(
            rng.uniform(-1, 1, (batch_size, *DEFAULT_SPEC.image_shape)).astype(np.float32)
        )

        def step(D: Any = D, images: Any = images) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                ctx = LossContext(
                    images,
                    -images,
                    D({"image": images}, training=True),
                    D({"image": -images}, training=True),
                    {},
                    D,
                )
                terms = loss_value(penalty, "penalty", ctx)
            return terms, tape.gradient(terms["loss"], D.trainable_variables)

        for mode, run in (("eagerly", step), ("inside tf.function", tf.function(step))):
            terms, grads = _traced_call(run, mode, "penalty", f"under {precision}")
            _check_terms("penalty", terms, f"under {precision} ({mode})")
            grads = [np.asarray(g) for g in grads if g is not None]
            require(
                all(np.all(np.isfinite(g)) for g in grads),
                f"penalty: non-finite gradient under {precision}",
            )


def _check_penalty_probes(penalty: Any, batch_size: int, seed: int) -> None:
    """The penalty does not fall when the probe's gradient norm grows, and is a mean."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    real = rng.uniform(-1, 1, (batch_size, *PROBE_SHAPE)).astype(np.float32)
    real.reshape(batch_size, -1)[:, 0] = 0.0
    fake = -real
    logits = rng.uniform(-2, 2, (batch_size, 1)).astype(np.float32)
    probe = ProbeDiscriminator(PROBE_SHAPE, seed)

    def value(d: Any, times: int = 1) -> float:
        r, f, l_ = (tf.constant(np.concatenate([x] * times)) for x in (real, fake, logits))
        return float(loss_value(penalty, "penalty", LossContext(r, f, l_, -l_, {}, d))["loss"])

    flat, steep = value(probe.make()), value(probe.make(steep=True))
    require(
        steep >= flat - 1e-4 * (1 + abs(flat)),
        f"the penalty falls from {flat:.6g} to {steep:.6g} when the discriminator's gradient norm "
        "grows "
        "and its logits stay the same: is its sign wrong? It is added to the discriminator's loss",
    )
    doubled = value(probe.make(), times=2)
    require(
        np.isclose(doubled, flat, rtol=1e-4, atol=1e-5),
        f"the penalty changes from {flat:.6g} to {doubled:.6g} when the batch is repeated twice: "
        "return the mean over the batch, not the sum",
    )


def loss_value(loss: Any, method: str, ctx: LossContext) -> Any:
    """``{"loss": ..., extras}`` of ``loss.<method>(ctx)``, or ``AssertionError`` saying
    why the result breaks the contract."""
    from gankit.terms.base import split_loss_output

    out = getattr(loss, method)(ctx)  # an exception here is the loss's own: it propagates
    try:
        return split_loss_output(out, method)
    except ValueError as exc:
        raise AssertionError(str(exc)) from None


# Where the probes put the logits (real, fake ranges): hinge and relativistic terms are
# zero where real and fake are well separated, so sums and scales show only elsewhere.
REGIONS = {
    "separated": ((1.0, 3.0), (-3.0, -1.0)),
    "near zero, where hinge terms are active": ((-0.5, 0.5), (-0.5, 0.5)),
    "reversed": ((-3.0, -1.0), (1.0, 3.0)),
    "unbalanced": ((0.5, 2.0), (-0.3, 0.8)),
}


def _check_values(loss: Any, batch: int, seed: int) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    real = rng.uniform(-1, 1, (batch, *PROBE_SHAPE)).astype(np.float32)
    fake = rng.uniform(-1, 1, (batch, *PROBE_SHAPE)).astype(np.float32)
    real.reshape(batch, -1)[:, 0] = fake.reshape(batch, -1)[:, 0] = 0.0
    high = rng.uniform(1.0, 3.0, (batch, 1)).astype(np.float32)
    low = -rng.uniform(1.0, 3.0, (batch, 1)).astype(np.float32)
    logits = {
        name: tuple(rng.uniform(lo, hi, (batch, 1)).astype(np.float32) for lo, hi in ranges)
        for name, ranges in REGIONS.items()
        if name != "separated"
    }
    logits = {"separated": (high, low), **logits}
    probe = ProbeDiscriminator(PROBE_SHAPE, seed)
    flat, steep = probe.make(), probe.make(steep=True)

    def ctx(
        real_logits: Any, fake_logits: Any, images: tuple[Any, Any] = (real, fake), d: Any = flat
    ) -> LossContext:
        r, f = (tf.constant(x) for x in images)
        return LossContext(
            r, f, tf.convert_to_tensor(real_logits), tf.convert_to_tensor(fake_logits), {}, d
        )

    def value(method: str, c: LossContext) -> float:
        return float(loss_value(loss, method, c)["loss"])

    d_good = _check_signs(value, ctx, high, low)
    twice_images = (np.tile(real, (2, 1, 1, 1)), np.tile(fake, (2, 1, 1, 1)))
    for region, (r_logits, f_logits) in logits.items():
        for method in ("discriminator_loss", "generator_loss"):
            once = value(method, ctx(r_logits, f_logits))
            doubled = value(
                method, ctx(np.tile(r_logits, (2, 1)), np.tile(f_logits, (2, 1)), twice_images)
            )
            require(
                np.isclose(doubled, once, rtol=1e-4, atol=1e-5),
                f"{method} changes from {once:.6g} to {doubled:.6g} when the batch is repeated "
                "twice "
                f"(logits {region}): return the mean over the batch, not the sum",
            )
            _check_slope(loss, method, r_logits, f_logits, ctx, region)
    d_steep = value("discriminator_loss", ctx(high, low, d=steep))
    require(
        d_steep >= d_good - 1e-4 * (1 + abs(d_good)),
        f"discriminator_loss falls from {d_good:.6g} to {d_steep:.6g} when the discriminator's "
        "gradient "
        "norm grows and its logits stay the same: is a gradient penalty subtracted instead of "
        "added?",
    )


def _check_signs(
    value: Callable[[str, Any], float], ctx: Callable[..., Any], high: Any, low: Any
) -> float:
    """Each side's loss is lower when that side wins; returns the discriminator's loss
    for a correct discriminator."""
    d_good, d_bad = (
        value("discriminator_loss", ctx(high, low)),
        value("discriminator_loss", ctx(low, high)),
    )
    require(
        d_good < d_bad,
        f"discriminator_loss is not lower for a correct discriminator ({d_good:.4g} >= "
        f"{d_bad:.4g}): is its sign flipped? It is minimised by the discriminator",
    )
    g_fooled, g_caught = (
        value("generator_loss", ctx(low, high)),
        value("generator_loss", ctx(high, low)),
    )
    require(
        g_fooled < g_caught,
        f"generator_loss is not lower when fakes are judged real ({g_fooled:.4g} >= "
        f"{g_caught:.4g}): is its sign flipped? It is minimised by the generator",
    )
    return d_good


def _check_slope(
    loss: Any,
    method: str,
    high: np.ndarray,
    low: np.ndarray,
    ctx: Callable[..., LossContext],
    region: str,
) -> None:
    import tensorflow as tf

    real_logits, fake_logits = tf.Variable(high), tf.Variable(low)
    with tf.GradientTape() as tape:
        value = loss_value(loss, method, ctx(real_logits, fake_logits))["loss"]
    grads = [g for g in tape.gradient(value, [real_logits, fake_logits]) if g is not None]
    slope = max((float(np.max(np.abs(np.asarray(g)))) for g in grads), default=0.0) * len(high)
    require(
        slope <= SLOPE_LIMIT,
        f"{method} moves by {slope:.3g}/B per unit of one example's logit (logits {region}; at "
        "most "
        f"{SLOPE_LIMIT:g}/B for a mean over the batch B): is the loss summed or scaled? Scale the "
        "learning rate instead",
    )


def _check_training_step(
    loss: Any, spec: ModelSpec, paired: bool, precision: str, batch: int, seed: int
) -> None:
    """One discriminator and one generator update's losses and gradients with small
    real models: eagerly, then inside ``tf.function`` as the trainer runs them (and with
    ``jit_compile=True`` in float32, as ``--jit-compile on`` does)."""
    import tensorflow as tf

    G = build_model(reference_generator, spec, None, seed, precision)
    D = build_model(reference_discriminator, spec, None, seed + 1, precision)
    rng = np.random.default_rng(seed)
    z = tf.constant(rng.standard_normal((batch, spec.latent_dim)).astype(np.float32))
    conds = {k: tf.constant(v) for k, v in condition_inputs(spec, batch, rng).items()}
    real = tf.constant(rng.uniform(-1, 1, (batch, *spec.image_shape)).astype(np.float32))
    where = f"under {precision}{' on a paired conditional run' if paired else ''}"

    def step() -> tuple[Any, Any, Any, Any]:
        with tf.GradientTape() as tape:
            fake = tf.stop_gradient(G({"z": z, **conds}, training=True))
            ctx = LossContext(
                real,
                fake,
                D({"image": real, **conds}, training=True),
                D({"image": fake, **conds}, training=True),
                conds,
                D,
                paired,
            )
            d_terms = loss_value(loss, "discriminator_loss", ctx)
        d_grads = tape.gradient(d_terms["loss"], D.trainable_variables)
        with tf.GradientTape() as tape:
            fake = G({"z": z, **conds}, training=True)
            ctx = LossContext(
                real,
                fake,
                tf.stop_gradient(D({"image": real, **conds}, training=True)),
                D({"image": fake, **conds}, training=True),
                conds,
                D,
                paired,
            )
            g_terms = loss_value(loss, "generator_loss", ctx)
        return d_terms, d_grads, g_terms, tape.gradient(g_terms["loss"], G.trainable_variables)

    modes: list[tuple[str, Any]] = [("eagerly", step), ("inside tf.function", tf.function(step))]
    if precision == "float32":
        modes.append(("inside tf.function(jit_compile=True)", tf.function(step, jit_compile=True)))
    for mode, run in modes:
        d_terms, d_grads, g_terms, g_grads = _traced_call(run, mode, "loss", where)
        _check_terms("discriminator_loss", d_terms, f"{where} ({mode})")
        _check_reaches(
            d_grads, "discriminator_loss", "discriminator", f"{where} ({mode})", precision
        )
        _check_terms("generator_loss", g_terms, f"{where} ({mode})")
        _check_reaches(g_grads, "generator_loss", "generator", f"{where} ({mode})", precision)


def _traced_call(run: Callable[[], Any], mode: str, what: str, where: str) -> Any:
    """``run()``; an exception raised only when traced is the kit's failure, in one line."""
    try:
        return run()
    except AssertionError:
        raise
    except Exception as exc:
        if mode == "eagerly":
            raise
        raise AssertionError(
            f"the {what} works eagerly but fails {mode} {where}, as the trainer runs it: "
            f"{_reason(exc)} "
            "(use tensor ops — keras.ops or tf — not float(), NumPy or Python branches on tensors)"
        ) from None


def _reason(exc: BaseException) -> str:
    """``Type: message`` of an error raised while tracing: TensorFlow's message starts
    with "in user code:" and a stack; the cause is its last line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if lines and lines[0].startswith("in user code"):
        last = lines[-1]
        return (
            last if last.startswith(f"{type(exc).__name__}:") else f"{type(exc).__name__}: {last}"
        )
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _check_terms(method: str, terms: Mapping[str, Any], where: str) -> None:
    for name, value in terms.items():
        require(np.isfinite(float(value)), f"{method}: `{name}` is {float(value)} {where}")


def _check_reaches(grads: list[Any], method: str, network: str, where: str, precision: str) -> None:
    present = [np.asarray(g) for g in grads if g is not None]
    require(present, f"{method} carries no gradient to the {network}'s weights {where}")
    require(all(np.all(np.isfinite(g)) for g in present), f"{method}: non-finite gradient {where}")
    if precision == "float32":
        require(
            any(np.any(g) for g in present), f"{method}: the {network}'s gradient is zero {where}"
        )
