"""The trainer: builds the registered components a config names and trains them.

One ``tf.function`` runs every GAN step between two logging events (D then G, two
tapes, one optimizer each) under the given ``tf.distribute`` strategy; losses stay on
the device and are read back only at logging steps. ``--batch-size`` is the global
batch: each replica gets an equal slice, computes the mean loss over its slice and
divides it by the replica count, so the summed gradients are those of the global-batch
mean whatever the number of replicas. Noise comes from stateless RNG keyed by
(seed, step) for the global batch, each replica taking its slice, and the data order
from (seed, epoch): a resumed run continues exactly where the checkpoint left off, and
a run on N replicas sees the same noise and data as on one.

In a multi-worker run only the chief (see :func:`gankit.distribute.is_chief`) writes
the run directory; every worker reads the checkpoint it resumes from.
"""

from __future__ import annotations

import datetime as _dt
import math
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gankit.callbacks import CheckpointStore, MetricsLog, Progress, Stopwatch, model_variables
from gankit.components import LossContext, ModelSpec
from gankit.config import RunConfig, resolve_components
from gankit.distribute import is_chief, worker_lost_errors
from gankit.errors import GankitError, TrainingError, TrainingInterrupted
from gankit.images import paired_grid, save_png
from gankit.performance import dtype_policy, resolve_jit, resolve_precision
from gankit.registry import Registry
from gankit.rundir import RunDir, check_resumable
from gankit.runfiles import atomic_write_text

__all__ = ["Trainer", "TrainResult", "build_models", "prepare_run", "SAMPLE_COUNT"]

SAMPLE_COUNT = {False: 64, True: 32}  # grid size: unconditional, conditional
SHUFFLE_BUFFER = 10_000


@dataclass
class Models:
    spec: ModelSpec
    generator: Any
    discriminator: Any
    loss: Any


def model_spec(config: RunConfig, dataset: Any) -> ModelSpec:
    conditions = {name: tuple(dataset.conditions[name]) for name in config.condition or []}
    return ModelSpec(tuple(dataset.image_shape), config.latent_dim, conditions)


def build_models(config: RunConfig, registry: Registry, dataset: Any) -> Models:
    """Build G, D and the loss from a resolved config (call inside the strategy scope)."""
    spec = model_spec(config, dataset)
    opts = config.options
    generator = registry.get("generators", config.generator).factory(spec, **opts["generator"])
    discriminator = registry.get("discriminators", config.discriminator).factory(
        spec, **opts["discriminator"]
    )
    loss = registry.get("losses", config.loss).factory(**opts["loss"])
    return Models(spec, generator, discriminator, loss)


@dataclass
class TrainResult:
    run: RunDir
    start_step: int
    end_step: int
    records: list[dict[str, Any]] = field(default_factory=list)


def prepare_run(
    run: RunDir,
    requested: RunConfig,
    registry: Registry,
    *,
    data_dir: str | None = None,
    force: bool = False,
) -> tuple[RunConfig, Any, int]:
    """Validate the config, then decide: new run, resume, or refuse.

    Returns the config to train with (fully resolved), the dataset, and the step
    of the checkpoint to resume from (0 for a new run). Builds no model and writes
    nothing (the trainer's chief creates the folders), so every worker of a
    multi-worker job can call it.
    """
    dataset = resolve_components(requested, registry, data_dir)
    if run.path.exists() and not run.exists() and not run.is_unused():
        raise GankitError(
            f"{run.path} exists and is not a gankit run directory; choose another --out"
        )
    if not run.exists():
        return requested, dataset, 0
    saved = run.read_config()
    check_resumable(saved, requested, force)
    latest = run.latest_checkpoint()
    step = latest[0] if latest else 0
    if step >= requested.steps:
        status = run.read_run_info().get("status", "unknown")
        raise GankitError(
            f"{run.path} already trained to step {step} (status: {status}); pass --steps "
            f"greater than {step} to continue, or choose another --out"
        )
    return requested, dataset, step


class Trainer:
    """Trains one run; see the module docstring. Use :meth:`run` once."""

    def __init__(
        self,
        config: RunConfig,
        registry: Registry,
        dataset: Any,
        run: RunDir,
        *,
        plugin_versions: dict[str, str | None] | None = None,
        strategy: Any = None,
        live_progress: bool | None = None,
    ) -> None:
        import tensorflow as tf

        self.config = config
        self.registry = registry
        self.dataset = dataset
        self.rundir = run
        self.plugin_versions = plugin_versions or {}
        self.strategy = strategy or tf.distribute.get_strategy()
        self.live_progress = live_progress
        self.chief = is_chief(self.strategy)
        self.conditions = list(config.condition or [])
        self._stop_signal: int | None = None

    # === Setup ===

    def _build(self) -> None:
        import keras
        import tensorflow as tf

        from gankit.optimizers import Adam

        c = self.config
        device_type = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
        self.precision = resolve_precision(c.precision, device_type)
        self.jit_compile = resolve_jit(c.jit_compile, device_type)
        keras.utils.set_random_seed(c.seed)
        with self.strategy.scope(), dtype_policy(self.precision):
            self.models = build_models(c, self.registry, self.dataset)
            if c.sync_batch_norm:
                _synchronise_batch_norm(self.models.generator, self.models.discriminator)
            self.g_opt = Adam(c.lr_g, beta_1=c.beta1, beta_2=c.beta2)
            self.d_opt = Adam(c.lr_d, beta_1=c.beta1, beta_2=c.beta2)
            if self.precision == "mixed_float16":
                self.g_opt = keras.optimizers.LossScaleOptimizer(self.g_opt)
                self.d_opt = keras.optimizers.LossScaleOptimizer(self.d_opt)
            self.g_opt.build(self.models.generator.trainable_variables)
            self.d_opt.build(self.models.discriminator.trainable_variables)
            self.step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="gankit_step")
        self._checkpoint_groups = model_variables(
            {"generator": self.models.generator, "discriminator": self.models.discriminator},
            {"generator": self.g_opt, "discriminator": self.d_opt},
        )
        self._train_chunk = self._make_train_chunk()

    def _make_train_chunk(self) -> Callable[[Any, Any], Any]:
        import tensorflow as tf

        G, D, loss = self.models.generator, self.models.discriminator, self.models.loss
        conditions, latent, seed = self.conditions, self.config.latent_dim, self.config.seed
        d_steps, strategy, step_var = self.config.d_steps, self.strategy, self.step_var
        g_opt, d_opt = self.g_opt, self.d_opt
        replicas = float(strategy.num_replicas_in_sync)
        paired = bool(conditions) and bool(getattr(self.dataset, "paired", False))
        loss_scaling = self.precision == "mixed_float16"

        def scale(opt: Any, value: Any) -> Any:
            value = value / replicas  # the optimizer sums gradients over replicas
            return opt.scale_loss(value) if loss_scaling else value

        def noise(batch: Any, step: Any, stream: int) -> Any:
            """This replica's slice of the global batch's noise for (seed, step, stream)."""
            replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int32)
            key = tf.stack([tf.cast(seed, tf.int64) * 7919, step * 8 + stream])
            z = tf.random.stateless_normal((batch * int(replicas), latent), seed=key)
            return z[replica * batch : (replica + 1) * batch]

        def generate(conds: dict[str, Any], size: Any, step: Any, stream: int) -> Any:
            return G({"z": noise(size, step, stream), **conds}, training=True)

        def d_update(real: Any, conds: dict[str, Any], fake: Any) -> tuple[Any, Any]:
            """One discriminator update on ``real`` and ``fake``; its loss and real logits."""
            with tf.GradientTape() as tape:
                real_logits = D({"image": real, **conds}, training=True)
                fake_logits = D({"image": fake, **conds}, training=True)
                ctx = LossContext(real, fake, real_logits, fake_logits, conds, D, paired)
                d_loss = tf.cast(loss.discriminator_loss(ctx), tf.float32)
                scaled = scale(d_opt, d_loss)
            d_opt.apply(tape.gradient(scaled, D.trainable_variables), D.trainable_variables)
            return d_loss, real_logits

        def begin_step(batch: dict[str, Any]) -> tuple[Any, dict[str, Any], Any, Any]:
            """The batch's images and conditions, its size and the step; runs the extra D
            updates (d_steps > 1), each on fakes of its own noise."""
            real = batch["image"]
            conds = {name: batch[name] for name in conditions}
            size = tf.shape(real)[0]
            step = step_var.read_value()
            for k in range(d_steps - 1):
                d_update(real, conds, generate(conds, size, step, k))
            return real, conds, size, step

        @tf.autograph.experimental.do_not_convert
        def alternating_step(batch: dict[str, Any]) -> tuple[Any, Any]:
            """D update, then a G update of the same fakes against the updated D (the
            DCGAN reference training loop). G's forward pass is recorded once and serves
            both updates: the D update does not change G, so a second pass would repeat it."""
            real, conds, size, step = begin_step(batch)
            with tf.GradientTape() as tape:
                fake = generate(conds, size, step, 7)
                with tape.stop_recording():
                    d_loss, real_logits = d_update(real, conds, tf.stop_gradient(fake))
                fake_logits = D({"image": fake, **conds}, training=True)
                ctx = LossContext(
                    real, fake, tf.stop_gradient(real_logits), fake_logits, conds, D, paired
                )
                g_loss = tf.cast(loss.generator_loss(ctx), tf.float32)
                scaled = scale(g_opt, g_loss)
            g_opt.apply(tape.gradient(scaled, G.trainable_variables), G.trainable_variables)
            return d_loss, g_loss

        @tf.autograph.experimental.do_not_convert
        def simultaneous_step(batch: dict[str, Any]) -> tuple[Any, Any]:
            """One forward pass, two tapes: both players step from the same position
            (TensorFlow's DCGAN tutorial)."""
            real, conds, size, step = begin_step(batch)
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake = generate(conds, size, step, 7)
                real_logits = D({"image": real, **conds}, training=True)
                fake_logits = D({"image": fake, **conds}, training=True)
                ctx = LossContext(real, fake, real_logits, fake_logits, conds, D, paired)
                d_loss = tf.cast(loss.discriminator_loss(ctx), tf.float32)
                g_loss = tf.cast(loss.generator_loss(ctx), tf.float32)
                d_scaled, g_scaled = scale(d_opt, d_loss), scale(g_opt, g_loss)
            d_grads = d_tape.gradient(d_scaled, D.trainable_variables)
            g_grads = g_tape.gradient(g_scaled, G.trainable_variables)
            d_opt.apply(d_grads, D.trainable_variables)
            g_opt.apply(g_grads, G.trainable_variables)
            return d_loss, g_loss

        replica_step = simultaneous_step if self.config.update == "simultaneous" else alternating_step

        # XLA compiles the step, not the loop around it (iterators cannot be compiled).
        step_fn = tf.function(replica_step, jit_compile=True) if self.jit_compile else replica_step

        @tf.function
        def train_chunk(iterator: Any, count: Any) -> tuple[Any, Any, Any]:
            """Run ``count`` steps; return summed d/g losses and the first non-finite step."""
            d_sum = tf.constant(0.0)
            g_sum = tf.constant(0.0)
            first_bad = tf.constant(-1, tf.int64)
            for _ in tf.range(count):
                d_loss, g_loss = strategy.run(step_fn, args=(next(iterator),))
                d_loss = strategy.reduce("MEAN", d_loss, axis=None)
                g_loss = strategy.reduce("MEAN", g_loss, axis=None)
                finite = tf.math.is_finite(d_loss) & tf.math.is_finite(g_loss)
                first_bad = tf.where((first_bad < 0) & ~finite, step_var + 1, first_bad)
                d_sum += d_loss
                g_sum += g_loss
                step_var.assign_add(1)
            return d_sum, g_sum, first_bad

        return train_chunk

    def input_pipeline(self, epoch: int, skip_batches: int = 0) -> Any:
        """One epoch of global batches: shuffled by (seed, epoch), first batches skipped."""
        import tensorflow as tf

        c = self.config
        ds = self.dataset.load("train", epoch=epoch)
        keys = ["image", *self.conditions]  # dropped before shuffling: a smaller buffer
        ds = ds.map(lambda el: {k: el[k] for k in keys})
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=c.seed * 100_003 + epoch, reshuffle_each_iteration=False)
        ds = ds.batch(c.batch_size, drop_remainder=True)
        if skip_batches:
            ds = ds.skip(skip_batches)
        options = tf.data.Options()
        # Each input op single-threaded: the steps' kernels need the cores more.
        options.threading.max_intra_op_parallelism = 1
        # In-memory data has no files to shard: each worker takes its slice of every
        # global batch, so workers see the same batches a single process would.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options).prefetch(tf.data.AUTOTUNE)

    def _iterator(self, epoch: int, skip_batches: int) -> Any:
        return iter(self.strategy.experimental_distribute_dataset(self.input_pipeline(epoch, skip_batches)))

    # === Samples ===

    def _fixed_sample_inputs(self) -> dict[str, np.ndarray]:
        from gankit.build import take_examples

        n = SAMPLE_COUNT[bool(self.conditions)]
        rng = np.random.default_rng(self.config.seed)
        inputs = {"z": rng.standard_normal((n, self.config.latent_dim)).astype(np.float32)}
        if self.conditions:
            examples = take_examples(self.dataset, "test", n)
            inputs.update({c: examples[c] for c in self.conditions})
        return inputs

    def _write_samples(self, step: int, metrics: MetricsLog) -> None:
        images = np.asarray(self.models.generator(self._sample_inputs, training=False))
        parts = [self._sample_inputs[c] for c in self.conditions] + [images]
        grid = paired_grid(parts)
        save_png(grid, self.rundir.sample_path(step), scale=2)
        metrics.image("samples", grid, step)

    # === Run info ===

    def _run_info(self, status: str, step: int) -> dict[str, Any]:
        import keras
        import tensorflow as tf

        from gankit import __version__

        info = self.rundir.read_run_info()
        info.update(
            {
                "gankit": __version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "python": platform.python_version(),
                "plugins": self.plugin_versions,
                "seed": self.config.seed,
                "devices": [d.name for d in tf.config.list_logical_devices()],
                "strategy": type(self.strategy).__name__,
                "replicas": int(self.strategy.num_replicas_in_sync),
                "precision": self.precision,
                "jit_compile": self.jit_compile,
                "generator_params": _count(self.models.generator.trainable_variables),
                "discriminator_params": _count(self.models.discriminator.trainable_variables),
                "status": status,
                "step": step,
                "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
        )
        info.setdefault("created_at", info["updated_at"])
        return info

    # === Training ===

    def run(self, start_step: int = 0) -> TrainResult:
        """Train from ``start_step`` (a checkpoint in the run directory) to ``config.steps``."""
        import tensorflow as tf


        c, run, chief = self.config, self.rundir, self.chief
        replicas = int(self.strategy.num_replicas_in_sync)
        if c.batch_size % replicas:
            raise TrainingError(
                f"--batch-size {c.batch_size} does not split evenly over {replicas} replicas"
            )
        steps_per_epoch = self.dataset.splits["train"] // c.batch_size
        if steps_per_epoch < 1:
            raise TrainingError(f"--batch-size {c.batch_size} is larger than the training split")
        if chief:
            run.prepare()
        evaluator = self._evaluator() if chief and c.eval_every else None
        if evaluator is not None:  # before anything is written: a missing extractor fails cleanly
            evaluator.log = lambda text: print(text, file=sys.stderr, flush=True)
            evaluator.prepare()
        self._build()
        store = CheckpointStore(run, c.keep_checkpoints)
        elapsed_before = 0.0
        if start_step:
            path = run.checkpoint_path(start_step)
            self.step_var.assign(CheckpointStore.load(path, self._checkpoint_groups))
            if chief:
                elapsed_before = run.truncate_metrics(start_step)
        elif chief:
            atomic_write_text(run.metrics_file, "")
        if chief:
            atomic_write_text(run.config_file, c.to_toml())
            run.write_run_info(self._run_info("running", start_step))
            self._sample_inputs = self._fixed_sample_inputs()
        metrics = MetricsLog(run) if chief else None
        result = TrainResult(run, start_step, start_step)

        step, last_good = start_step, start_step
        iterator_epoch = step // steps_per_epoch
        iterator = self._iterator(iterator_epoch, step % steps_per_epoch)
        # Trace before the clock starts: images_per_sec covers training steps only.
        self._train_chunk.get_concrete_function(iterator, tf.constant(1, tf.int64))
        watch, window_steps = Stopwatch(), 0
        d_window = g_window = 0.0
        bad_window: Any = None
        wall_start = time.perf_counter()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            with Progress(c.steps, start_step, live=self.live_progress) as progress:
                while step < c.steps:
                    epoch, offset = divmod(step, steps_per_epoch)
                    if epoch != iterator_epoch:
                        iterator, iterator_epoch = self._iterator(epoch, offset), epoch
                    count = min(
                        c.steps - step,
                        steps_per_epoch - offset,
                        *(every - step % every for every in (c.log_every, c.sample_every, c.checkpoint_every)),
                        *([c.eval_every - step % c.eval_every] if c.eval_every else []),
                    )
                    with watch:
                        d_sum, g_sum, first_bad = self._run_chunk(iterator, count, last_good)
                    step += count
                    window_steps += count
                    d_window, g_window = d_window + d_sum, g_window + g_sum
                    bad_window = first_bad if bad_window is None else _first_set(bad_window, first_bad)
                    at_end = step == c.steps
                    # Read once (a signal may land mid-iteration); at the last step just finish.
                    stopping = None if at_end else self._stop_signal
                    due_eval = bool(c.eval_every) and (at_end or step % c.eval_every == 0)
                    due_log = at_end or step % c.log_every == 0 or stopping is not None or due_eval
                    due_ckpt = at_end or step % c.checkpoint_every == 0 or stopping is not None
                    if due_log or due_ckpt:
                        with watch:
                            bad = int(bad_window)
                            d_mean, g_mean = float(d_window) / window_steps, float(g_window) / window_steps
                        if bad >= 0 or not (math.isfinite(d_mean) and math.isfinite(g_mean)):
                            at = bad if bad >= 0 else step
                            raise TrainingError(
                                f"non-finite loss at step {at} (d_loss={d_mean}, g_loss={g_mean}); "
                                f"stopped; the last good checkpoint is step {last_good}"
                            )
                    if due_log:
                        seconds = watch.lap()
                        record = {
                            "step": step,
                            "d_loss": round(d_mean, 6),
                            "g_loss": round(g_mean, 6),
                            "images_per_sec": round(window_steps * c.batch_size / max(seconds, 1e-9), 2),
                        }
                        if due_eval and evaluator is not None:
                            record[c.eval_metric] = self._evaluate(evaluator, step, progress)
                        record["elapsed_s"] = round(elapsed_before + time.perf_counter() - wall_start, 3)
                        if metrics is not None:
                            metrics.write(record)
                        result.records.append(record)
                        progress.update(step, {**record, "batch_size": c.batch_size})
                        d_window = g_window = 0.0
                        window_steps, bad_window = 0, None
                    else:
                        progress.update(step)
                    if metrics is not None and (at_end or step % c.sample_every == 0):
                        self._write_samples(step, metrics)
                    if due_ckpt:
                        if chief:
                            store.save(step, self._checkpoint_groups)
                            run.write_run_info(self._run_info("running", step))
                        last_good = step
                    result.end_step = step
                    if stopping is not None:
                        signum = stopping
                        if chief:
                            run.write_run_info(self._run_info("interrupted", step))
                        raise TrainingInterrupted(
                            f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint "
                            f"saved; resume with: gankit train --out {run.path}",
                            128 + signum,
                        )
            if chief:
                self._export()
                info = self._run_info("finished", step)
                info["exported_step"] = step
                run.write_run_info(info)
        except TrainingError:
            if chief:
                run.write_run_info(self._run_info("failed", last_good))
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if metrics is not None:
                metrics.close()
        return result

    # === Evaluation ===

    def _evaluator(self) -> Any:
        from gankit.evaluation import Evaluator, dataset_key, select_metrics

        c = self.config
        metrics = select_metrics(self.registry, [c.eval_metric], c.options.get("metric", {}))
        return Evaluator(
            metrics, self.dataset,
            dataset_key=dataset_key(c),
            conditions=self.conditions, latent_dim=c.latent_dim, split="test",
            n=min(c.eval_n, self.dataset.splits.get("test", 0)), seed=c.seed,
        )

    def _evaluate(self, evaluator: Any, step: int, progress: Progress) -> float:
        """Evaluate the generator now; keep ``checkpoints/best`` when it is the best yet."""
        import json

        from gankit.runfiles import append_jsonl

        evaluator.log = progress.message
        record = evaluator.evaluate(self.models.generator, step)[0]
        append_jsonl(self.rundir.evals_file, record)
        value, higher = record["value"], record["protocol"]["higher_is_better"]
        best = self.rundir.read_best()
        if math.isfinite(value) and (
            best is None or best.get("metric") != record["metric"]
            or (value > best["value"] if higher else value < best["value"])
        ):
            CheckpointStore.save_as(self.rundir.best_checkpoint, step, self._checkpoint_groups)
            atomic_write_text(self.rundir.best_file, json.dumps(
                {"step": step, "metric": record["metric"], "value": value, "higher_is_better": higher}
            ) + "\n")
        return round(value, 6)

    def _run_chunk(self, iterator: Any, count: int, last_good: int) -> tuple[Any, Any, Any]:
        """``count`` steps; a lost peer worker becomes a one-line TrainingError."""
        import tensorflow as tf

        try:
            return self._train_chunk(iterator, tf.constant(count, tf.int64))
        except worker_lost_errors() as exc:
            raise TrainingError(
                f"lost contact with another worker ({type(exc).__name__}); "
                f"restart every worker with the same command to resume from step {last_good}"
            ) from None

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None:  # a second signal: stop now, keep the last checkpoint
            raise TrainingInterrupted(f"stopped by {signal.Signals(signum).name}", 128 + signum)
        self._stop_signal = signum

    def _export(self) -> None:
        """``generator.keras`` (plain Keras layers: it loads without gankit), written to
        a temporary name and renamed into place."""
        import os

        from gankit.layers import to_keras

        target = self.rundir.generator_file
        tmp = target.with_name(".generator.tmp.keras")
        try:
            to_keras(self.models.generator).save(tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise GankitError(f"cannot write {target}: {exc.strerror or exc}") from None


def _synchronise_batch_norm(*models: Any) -> None:
    """BatchNormalization layers compute statistics over the global batch (all replicas)."""
    import keras

    pending = list(models)
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True  # read when the layer is traced, so setting it now works
        pending.extend(getattr(layer, "layers", []))


def _first_set(a: Any, b: Any) -> Any:
    """The earlier of two "first non-finite step" markers, -1 meaning unset (on device)."""
    import tensorflow as tf

    return tf.where(a >= 0, a, b)


def _count(variables: list[Any]) -> int:
    return int(sum(np.prod(v.shape) for v in variables))


def plugin_versions_for(config: RunConfig, registry: Registry, versions: dict[str, str | None]) -> dict[str, str | None]:
    """``{plugin: version}`` of the plugins providing the config's components."""
    used = {}
    for family, name in (
        ("generators", config.generator), ("discriminators", config.discriminator),
        ("losses", config.loss), ("datasets", config.dataset),
    ):
        plugin = registry.get(family, name).plugin
        used[plugin] = versions.get(plugin)
    return used
