"""``gankit.training``: train a run from Python, the one implementation ``gankit train`` uses."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gankit.errors import ConfigError
from gankit.run.config import RunConfig

__all__ = ["train", "nest_options", "SETTINGS"]

# The settings ``gankit.training`` takes by keyword: ``gankit train``'s flags, by field name.
SETTINGS = tuple(
    name for name in RunConfig.__dataclass_fields__ if name not in ("options", "sources")
)


def _echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def nest_options(options: Mapping[str, Any] | Iterable[str] | None) -> dict[str, dict[str, Any]]:
    """``{"generator.width": 8}`` or ``["generator.width=8"]`` (the CLI's ``-o``) as
    ``{"generator": {"width": 8}}``; a nested mapping passes through. Values are
    checked by each component as ``-o`` values are."""
    from gankit.run.parsing import parse_overrides

    if options is None:
        return {}
    if not isinstance(options, Mapping):
        return parse_overrides(list(options))
    out: dict[str, dict[str, Any]] = {}
    for key, value in options.items():
        if isinstance(value, Mapping):  # {"generator": {"width": 8}}
            parse_overrides(f"{key}.{k}=" for k in value)  # the CLI's checks of the names
            out.setdefault(key, {}).update(value)
            continue
        ((family, named),) = parse_overrides([f"{key}="]).items()
        out.setdefault(family, {})[next(iter(named))] = value
    return out


def train(
    out: str | Path | None = None,
    *,
    config: str | Path | None = None,
    options: Mapping[str, Any] | Iterable[str] | None = None,
    callbacks: Iterable[Any] = (),
    progress: bool | None = True,
    data_dir: str | Path | None = None,
    force: bool = False,
    cpu_devices: int | None = None,
    echo: Callable[[str], None] | None = None,
    **settings: Any,
) -> Any:
    """Train a run (or resume ``out``) and return it as a :class:`gankit.Run`.

    The Python twin of ``gankit train``: ``settings`` are its flags by name
    (``scheme``, ``generator``, ``discriminator``, ``loss``, ``dataset``,
    ``condition``, ``steps``, ``batch_size``, ``lr_g``, ``loggers``, ...), ``options``
    its ``-o`` options (``{"dataset.path": "photos/"}``), ``config`` its ``--config``
    file; defaults, validation, error classes and messages are the command's (a bad
    option raises :class:`gankit.OptionError`, with nothing written). An existing
    ``out`` is resumed to ``steps``. ``callbacks`` hear the run
    (:class:`gankit.Callback`); ``progress``: a bar (terminal and Jupyter), ``False``
    for none, ``None`` for the CLI's choice (a bar on a terminal, else a line per
    logging step). ``cpu_devices`` splits the CPU into logical devices (a testing aid
    for ``strategy="mirrored"``).
    """
    from gankit.api.run import Run

    say = echo or _echo
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(repr(u) for u in unknown)} (settings: "
            f"{', '.join(SETTINGS)})"
        )
    trainer, _ = run_training(
        Path(out) if out is not None else None,
        settings={k: v for k, v in settings.items() if v is not None},
        options=nest_options(options),
        config_file=str(config) if config is not None else None,
        callbacks=list(callbacks),
        live="off" if progress is False else progress,
        data_dir=str(data_dir) if data_dir is not None else None,
        force=force,
        cpu_devices=cpu_devices,
        say=say,
    )
    return Run(trainer.rundir.path)


def run_training(
    out: Path | None,
    *,
    settings: dict[str, Any],
    options: dict[str, dict[str, Any]],
    config_file: str | None,
    callbacks: list[Any],
    live: bool | str | None,
    data_dir: str | None,
    force: bool,
    cpu_devices: int | None,
    say: Callable[[str], None],
) -> Any:
    """Resolve, build, make the run directory and train; return the trainer and its
    ``TrainResult``. What
    ``gankit train`` and :func:`train` both run (the CLI then ends a mirrored run's
    process, which a notebook must not)."""
    from gankit._tf import import_tensorflow
    from gankit.plugin.session import current_host
    from gankit.run.resolve import prepare_run
    from gankit.run.rundir import RunDir

    host = current_host()
    run = RunDir(out) if out is not None else None
    config = requested_config(settings, options, config_file, run)
    if run is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run = RunDir(Path("runs") / f"{config.dataset}-{config.generator}-{config.loss}-{stamp}")
    config, resolved, start = prepare_run(
        run, config, host.registry, data_dir=data_dir, force=force
    )
    import_tensorflow()
    from gankit.run.provenance import plugins_used
    from gankit.training.distribute import make_strategy
    from gankit.training.trainer import Trainer

    strategy = make_strategy(config.strategy, cpu_devices=cpu_devices)
    trainer = Trainer(
        config,
        host.registry,
        resolved,
        run,
        plugins=plugins_used(config, host.registry, host.records),
        strategy=strategy,
        live_progress=live,
        data_source=data_source(data_dir),
        callbacks=callbacks,
        warn=lambda text: say(f"Warning: {text}"),
    )
    return trainer, _train_in(run, trainer, start, say)


def _train_in(run: Any, trainer: Any, start: int, say: Callable[[str], None]) -> Any:
    """Build, make the run directory (the chief), hold its lock and train from ``start``."""
    from gankit.run.lock import RunLock

    chief = trainer.chief
    trainer.build(start)  # a model that cannot be built fails before the folder exists
    if chief:
        run.prepare()  # an unwritable --out fails here, before anything is announced
    role = "" if chief else " (a non-chief worker: the chief writes the run directory)"
    with RunLock(run.lock_file) if chief else contextlib.nullcontext():
        if chief:
            _set_aside_unreadable(run, say)
        verb = f"resuming {run.path} from step {start}" if start else f"training into {run.path}"
        say(f"{verb}{role}")
        return trainer.run(start)


def requested_config(
    settings: dict[str, Any], options: dict[str, dict[str, Any]], config_file: str | None, run: Any
) -> RunConfig:
    """The layers the user gave — the run directory's config when resuming, the config
    file, the settings (flags) — merged (components' declarations come later)."""
    from gankit.run.config import RUN_DIRECTORY, merge_config, read_config_file
    from gankit.run.parsing import parse_condition

    explicit = dict(settings)
    if "condition" in explicit:
        explicit["condition"] = parse_condition(explicit["condition"])
    if options:
        explicit["options"] = options
    from_file = read_config_file(config_file) if config_file else {}
    from_file.pop("sources", None)  # a copied config.toml: its values now come from this file
    base = run.read_config().to_dict() if run is not None and run.exists() else {}
    return merge_config(
        (RUN_DIRECTORY, base), (f"config file {config_file}", from_file), ("command line", explicit)
    )


def data_source(data_dir: str | None) -> dict[str, Any]:
    """Where this run's data is read from, for run.json (``sample`` and ``evaluate`` use
    it when no --data-dir or GANKIT_DATA_DIR is given)."""
    from gankit.types import DataContext

    context = DataContext.from_env(data_dir)
    return {
        "data_dir": str(context.data_dir.resolve()) if context.data_dir else None,
        "cache_dir": str(context.cache_dir),
    }


def _set_aside_unreadable(run: Any, say: Callable[[str], None]) -> None:
    """Checkpoints newer than the one a resume starts from that do not read whole: renamed
    aside (kept), one warning line each naming both files."""
    from gankit.run.checkpoints import newest_readable, set_aside

    latest, bad = newest_readable(run)
    for path, problem in bad:
        kept = set_aside(path)
        resumed = f"resuming from {latest[1].name}" if latest else "starting from step 0"
        say(
            f"Warning: checkpoint {path} is unreadable ({problem}); {resumed}; kept it as "
            f"{kept.name}"
        )
