"""The trainer: builds the registered components a run's config names and trains them.

One ``tf.function`` (:class:`gankit.training.loop.TrainChunk`) runs every step between two
host events under the run's ``tf.distribute`` strategy; a step is the stepper
(:mod:`gankit.training.stepper`) walking the run's scheme's optimizer groups by the update
rule; when the host logs, writes samples, checkpoints and evaluates is the
:class:`~gankit.training.schedule.Schedule`.
``--batch-size`` is the global batch: each replica gets an equal slice. Data order is
keyed by (seed, epoch) and noise by (seed, step): a resumed run continues exactly where
its checkpoint left off, and a run on N replicas sees the same noise and data as on one.

In a multi-worker run only the chief (see :func:`gankit.training.distribute.is_chief`)
writes the run directory; every worker reads the checkpoint it resumes from.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gankit.conditions import class_names, conditioned_on_label
from gankit.errors import GankitError, TrainingError, TrainingInterrupted, describe
from gankit.io.files import atomic_write_text
from gankit.nn.precision import gpu_visible, resolve_jit, resolve_precision
from gankit.plugin.building import check_first_batch
from gankit.plugin.registry import Registry
from gankit.run.checkpoints import CheckpointStore
from gankit.run.config import RunConfig
from gankit.run.models import exported_roles
from gankit.run.record import RunRecord, model_facts, process_facts
from gankit.run.resolve import Resolved
from gankit.run.rundir import RunDir
from gankit.training.callbacks import Listeners, build_listeners
from gankit.training.distribute import is_chief, worker_lost_errors
from gankit.training.evaluation import PeriodicEvaluation
from gankit.training.export import export_info, export_network
from gankit.training.loop import ScalarWindow, check_finite, input_pipeline, release_in_background
from gankit.training.progress import Progress, Stopwatch
from gankit.training.roles import build_training
from gankit.training.samples import SampleGrid
from gankit.training.schedule import Due, Schedule

__all__ = ["Trainer", "TrainResult"]


@dataclass
class TrainResult:
    run: RunDir
    start_step: int
    end_step: int
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Loop:
    """The host-side state of one ``Trainer.run``."""

    step: int
    last_good: int | None  # the newest checkpoint's step (None: none written yet)
    result: TrainResult
    progress: Progress
    evaluator: PeriodicEvaluation | None
    elapsed_before: float
    window: ScalarWindow = field(default_factory=ScalarWindow)
    watch: Stopwatch = field(default_factory=Stopwatch)
    wall_start: float = field(default_factory=time.perf_counter)


class Trainer:
    """Trains one run; see the module docstring. Use :meth:`run` once."""

    def __init__(
        self,
        config: RunConfig,
        registry: Registry,
        resolved: Resolved,
        run: RunDir,
        *,
        plugins: dict[str, dict[str, Any]] | None = None,
        strategy: Any = None,
        live_progress: bool | None = None,
        data_source: dict[str, Any] | None = None,
        callbacks: Any = (),
        warn: Any = None,
    ) -> None:
        import tensorflow as tf

        self.config, self.registry, self.rundir = config, registry, run
        self.resolved, self.dataset = resolved, resolved.dataset
        self.plugins = plugins or {}  # gankit.run.provenance.plugins_used
        self.strategy = strategy or tf.distribute.get_strategy()
        self.live_progress = live_progress
        self.data_source = data_source  # recorded in run.json: sample/evaluate read it back
        self.callbacks, self.warn = list(callbacks), warn
        self.listeners = Listeners()
        self.chief = is_chief(self.strategy)
        self.conditions = list(config.condition or [])
        self._stop_signal: int | None = None
        device_type = "GPU" if gpu_visible() else "CPU"
        self.precision = resolve_precision(config.precision, device_type)
        self.jit_compile = resolve_jit(config.jit_compile, device_type)

    # === Setup ===

    def build(self, start_step: int = 0) -> None:
        """Start the loggers, check the dataset's first training batch, then build the
        models and optimizers (once). The CLI calls it before the run folder is made
        (and after the strategy has set up the devices), so a logger that cannot start,
        bad data, or a model that cannot be built for the dataset, leaves nothing behind."""
        if not hasattr(self, "models"):
            self._steps_per_epoch()  # a batch larger than the data fails here too
            if self.chief:
                self.listeners = build_listeners(
                    self.config,
                    self.registry,
                    self.rundir.path,
                    start_step,
                    self.callbacks,
                    self.warn,
                )
            component = self.resolved.components["dataset"]
            parts = list(self.dataset.conditions) if self.config.parts else []
            check_first_batch(
                self.dataset, self.conditions + parts, component.name, component.plugin
            )
            self._build()

    def _build(self) -> None:
        import keras

        keras.utils.set_random_seed(self.config.seed)
        self.training = training = build_training(
            self.config, self.resolved, self.strategy, self.precision, self.jit_compile
        )
        self.models, self.step_var = training.models, training.step_var
        self._checkpoint_groups, self._train_chunk = training.checkpoint_groups, training.chunk

    def network(self, role: str) -> Any:
        """The network of ``role`` to sample, evaluate and export (its moving average with
        ``--ema-decay``)."""
        return self.training.network(role)

    def _generator(self) -> Any:
        """The first exported role's network (the ``gan`` scheme's generator)."""
        return self.network(exported_roles(self.models.scheme)[0].name)

    def input_pipeline(self, epoch: int, skip_steps: int = 0) -> Any:
        """One epoch of step batches (``d_steps`` global batches each), shuffled by (seed,
        epoch), the first ``skip_steps`` skipped."""
        c = self.config
        return input_pipeline(
            self.dataset,
            ["image", *self.conditions, *self.models.parts],
            batch_size=c.batch_size,
            seed=c.seed,
            epoch=epoch,
            skip_steps=skip_steps,
            d_steps=c.d_steps,
            replicas=int(self.strategy.num_replicas_in_sync),
        )

    def _iterator(self, epoch: int, skip_steps: int) -> Any:
        return iter(
            self.strategy.experimental_distribute_dataset(self.input_pipeline(epoch, skip_steps))
        )

    def _steps_per_epoch(self) -> int:
        c, replicas = self.config, int(self.strategy.num_replicas_in_sync)
        if c.batch_size % replicas:
            raise TrainingError(
                f"--batch-size {c.batch_size} does not split evenly over {replicas} replicas"
            )
        steps = self.dataset.splits["train"] // (c.batch_size * c.d_steps)
        if steps < 1:
            raise TrainingError(
                f"--batch-size {c.batch_size} x --d-steps {c.d_steps} is larger than the training "
                f"split ({self.dataset.splits['train']} examples); pass a smaller --batch-size"
            )
        return steps

    # === Run info ===

    def _facts(self) -> dict[str, Any]:
        """What ``run.json`` says about this training process (:mod:`gankit.run.record`)."""
        names = class_names(self.dataset) if conditioned_on_label(self.conditions) else ()
        return process_facts(
            self.plugins,
            self.strategy,
            seed=self.config.seed,
            precision=self.precision,
            jit_compile=self.jit_compile,
            data_source=self.data_source,
            class_names=names,
        )

    # === Training ===

    def run(self, start_step: int = 0) -> TrainResult:
        """Train from ``start_step`` (a checkpoint in the run directory) to ``config.steps``.

        Once the run directory is written, any failure is recorded in ``run.json``
        (``status: failed``, the step of the last checkpoint, the error) before it is
        raised; nothing written before is removed.
        """
        run, chief = self.rundir, self.chief
        steps_per_epoch = self._steps_per_epoch()
        evaluator = None
        if chief:
            run.prepare()
            if (
                self.config.eval_every
            ):  # before anything is written: a missing extractor fails cleanly
                evaluator = PeriodicEvaluation(self.config, self.registry, self.dataset, run)
            atomic_write_text(run.config_file, self.config.to_toml())
            self.record = RunRecord(run, self._facts())
            self.record.write("running", start_step)
        loop = _Loop(
            step=start_step,
            last_good=start_step or None,
            result=TrainResult(run, start_step, start_step),
            progress=Progress(self.config.steps, start_step, live=self.live_progress),
            evaluator=evaluator,
            elapsed_before=0.0,
        )
        previous = {  # only the main thread may set handlers (gankit.train in a thread)
            s: signal.signal(s, self._on_signal)
            for s in (signal.SIGINT, signal.SIGTERM)
            if threading.current_thread() is threading.main_thread()
        }
        status = "failed"
        try:
            self.build(start_step)
            loop.elapsed_before = self._restore(start_step)
            self.listeners.begin(run)
            self._train(loop, steps_per_epoch)
            if chief:
                self._export(loop.step)
                self.record.write("finished", loop.step, exported_step=loop.step)
            status = "finished"
        except TrainingInterrupted:
            status = "interrupted"
            raise
        except Exception as exc:
            if chief:
                error = str(exc) if isinstance(exc, GankitError) else describe(exc)
                self.record.write("failed", loop.last_good or 0, error=error)
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.listeners.on_train_end(status)
            self.listeners.close()
        return loop.result

    def _export(self, step: int) -> None:
        for role in exported_roles(self.models.scheme):
            info = export_info(self.config, self.record.facts, role.name, step)
            path = export_network(self.rundir, role.export, self.network(role.name), info)
            self.listeners.on_export(role.name, path)

    def _restore(self, start_step: int) -> float:
        """Restore a resumed run's checkpoint; return the training time the run had
        already spent."""
        run, elapsed_before = self.rundir, 0.0
        if start_step:
            self.step_var.assign(
                CheckpointStore.load(run.checkpoint_path(start_step), self._checkpoint_groups)
            )
            if self.chief:
                elapsed_before = run.truncate_metrics(start_step)
        elif self.chief:
            atomic_write_text(run.metrics_file, "")
        if self.chief:
            self.record.add(model_facts(self.models, self.config.scheme))
            self.record.write("running", start_step)
            self._samples = SampleGrid(self.config, self.dataset, self.rundir, self.models.scheme)
        return elapsed_before

    def _train(self, loop: _Loop, steps_per_epoch: int) -> None:
        import tensorflow as tf

        c = self.config
        schedule = Schedule(c.steps, c.log_every, c.sample_every, c.checkpoint_every, c.eval_every)
        store = CheckpointStore(self.rundir, c.keep_checkpoints)
        iterator_epoch = loop.step // steps_per_epoch
        iterator = self._iterator(iterator_epoch, loop.step % steps_per_epoch)
        # Trace before the clock starts: images_per_sec covers training steps only.
        self._train_chunk.get_concrete_function(iterator, tf.constant(1, tf.int64))
        loop.wall_start = time.perf_counter()
        with loop.progress:
            while loop.step < c.steps:
                epoch, offset = divmod(loop.step, steps_per_epoch)
                if (
                    epoch != iterator_epoch
                ):  # the old one is destroyed off this thread: that can take seconds
                    release_in_background(iterator)
                    iterator, iterator_epoch = self._iterator(epoch, offset), epoch
                count = schedule.chunk(loop.step, steps_per_epoch)
                with loop.watch:
                    sums, first_bad = self._run_chunk(iterator, count, loop.last_good)
                    loop.window.add(count, self._train_chunk.scalars(sums), first_bad)
                loop.step += count
                # Read once (a signal may land mid-iteration); at the last step just finish.
                stopping = None if loop.step == c.steps else self._stop_signal
                self._after_chunk(
                    loop, schedule.due(loop.step, stopping=stopping is not None), store
                )
                if stopping is not None:
                    self._interrupted(loop.step, stopping)

    def _after_chunk(self, loop: _Loop, due: Due, store: CheckpointStore) -> None:
        """Log, write samples, checkpoint: whatever ``due`` says, in that order."""
        if due.log or due.checkpoint:
            with loop.watch:
                means, bad = loop.window.read()
            losses = {k: v for k, v in means.items() if k in self._loss_keys()}
            check_finite(losses, bad, loop.step, loop.last_good)
        if due.log:
            self._log(loop, due, means)
        else:
            loop.progress.update(loop.step)
        if self.chief and due.samples:
            grid = self._samples.write(self.network, self._generator(), loop.step)
            self.listeners.on_sample(loop.step, grid)
        if due.checkpoint:
            if self.chief:
                path = store.save(loop.step, self._checkpoint_groups)
                self.record.write("running", loop.step)
                self.listeners.on_checkpoint(loop.step, path)
            loop.last_good = loop.step
        loop.result.end_step = loop.step

    def _log(self, loop: _Loop, due: Due, means: dict[str, float]) -> None:
        c, seconds = self.config, loop.watch.lap()
        record: dict[str, Any] = {"step": loop.step}
        record.update({k: round(means[k], 6) for k in self._loss_keys() if k in means})
        record["images_per_sec"] = round(loop.window.steps * c.batch_size / max(seconds, 1e-9), 2)
        if due.evaluate and loop.evaluator is not None:
            record[c.eval_metric] = loop.evaluator(
                self._generator(), loop.step, self._checkpoint_groups, log=loop.progress.message
            )
        record.update(
            {k: round(v, 6) for k, v in means.items() if k not in record}
        )  # the terms' scalars
        record["elapsed_s"] = round(loop.elapsed_before + time.perf_counter() - loop.wall_start, 3)
        self.listeners.on_step_end(loop.step, record)
        loop.result.records.append(record)
        loop.progress.update(loop.step, {**record, "batch_size": c.batch_size})
        loop.window = ScalarWindow()

    def _loss_keys(self) -> list[str]:
        """Each group's logged loss (``d_loss``, ``g_loss``), in the scheme's order."""
        return [f"{g.prefix}_loss" for g in self.models.scheme.groups]

    def _interrupted(self, step: int, signum: int) -> None:
        if self.chief:
            self.record.write("interrupted", step)
        raise TrainingInterrupted(
            f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint "
            f"saved; resume with: gankit train --out {self.rundir.path}",
            128 + signum,
        )

    def _run_chunk(self, iterator: Any, count: int, last_good: int | None) -> tuple[Any, Any]:
        """``count`` steps; a lost peer worker, or an op failing on the device, becomes a
        one-line TrainingError."""
        import tensorflow as tf

        try:
            return self._train_chunk(iterator, tf.constant(count, tf.int64))
        except worker_lost_errors() as exc:
            raise TrainingError(
                f"lost contact with another worker ({type(exc).__name__}); restart every "
                f"worker with the same command to resume from step {last_good or 0}"
            ) from None
        except tf.errors.OpError as exc:
            raise TrainingError(
                f"training failed after step {int(self.step_var.numpy())}: {type(exc).__name__}: "
                f"{exc.message.strip().splitlines()[0]}"
            ) from exc

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None:  # a second signal: stop now, keep the last checkpoint
            raise TrainingInterrupted(f"stopped by {signal.Signals(signum).name}", 128 + signum)
        self._stop_signal = signum
