"""``gankit.Run``: a run directory from Python (and its picture in a notebook).

Each method calls the function its command calls (``sample`` →
:func:`gankit.eval.sampling.sample`, ``evaluate`` →
:func:`gankit.eval.runs.evaluate_run`, ``translate`` →
:func:`gankit.eval.translate.translate_files`, ``transfer`` →
:func:`gankit.eval.sampling.transfer`), with the plugins of this process
(:func:`gankit.plugin.session.current_host`).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import UsageError
from gankit.run.rundir import RunDir

__all__ = ["Run"]


def _registry() -> Any:
    from gankit.plugin.session import current_host

    return current_host().registry


def _data_dir(run: RunDir, data_dir: str | Path | None) -> str | None:
    return run.data_dir(str(data_dir) if data_dir else None, note=lambda text: None)


class Run:
    """A gankit run directory: what it was trained with, what it logged, and its
    networks to sample, translate and evaluate with. ``gankit.training`` returns one."""

    def __init__(self, path: str | Path) -> None:
        self.dir = RunDir(Path(path))
        if not self.dir.exists():
            raise UsageError(f"{self.dir.path} is not a gankit run directory (no config.toml)")

    @property
    def path(self) -> Path:
        return self.dir.path

    @property
    def config(self) -> Any:
        """The run's resolved config (:class:`gankit.run.config.RunConfig`)."""
        return self.dir.read_config()

    @property
    def info(self) -> dict[str, Any]:
        """``run.json``: status, steps, roles, class names, timings."""
        return self.dir.read_run_info()

    @property
    def status(self) -> str:
        """``running``, ``finished``, ``interrupted`` or ``failed``."""
        return str(self.info.get("status", "unknown"))

    def metrics(self) -> list[dict[str, Any]]:
        """The ``metrics.jsonl`` rows (one per logging step)."""
        file = self.dir.metrics_file
        if not file.is_file():
            return []
        return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]

    # === Networks ===

    def generator(self, role: str | None = None, *, best: bool = False) -> Any:
        """The exported network of ``role`` (default: the first, ``generator``) as a
        Keras model: its ``.keras`` export, else the latest checkpoint's weights."""
        from gankit._tf import import_tensorflow
        from gankit.run.models import load_network

        import_tensorflow()
        return load_network(self.dir, _registry(), role=role, best=best)[0]

    def sample(
        self,
        n: int = 64,
        *,
        seed: int = 0,
        class_: int | str | None = None,
        best: bool = False,
        data_dir: str | Path | None = None,
    ) -> np.ndarray:
        """``n`` generated images, float32 (n, H, W, C) in [-1, 1]; ``class_`` (an index,
        a class name or ``"all"``) for a run conditioned on the label alone."""
        return self.sample_with_conditions(
            n, seed=seed, class_=class_, best=best, data_dir=data_dir
        )["images"]

    def sample_with_conditions(
        self,
        n: int = 64,
        *,
        seed: int = 0,
        class_: int | str | None = None,
        best: bool = False,
        data_dir: str | Path | None = None,
    ) -> dict[str, np.ndarray]:
        """As ``gankit sample --npz``: ``images`` and the conditions (and labels) used."""
        from gankit._tf import import_tensorflow
        from gankit.eval.sampling import sample

        import_tensorflow()
        classes = None if class_ is None else str(class_)
        return sample(
            self.dir,
            _registry(),
            n,
            seed,
            _data_dir(self.dir, data_dir),
            best=best,
            classes=classes,
        )

    def transfer(
        self,
        contents: str | Path | Sequence[str | Path],
        styles: str | Path | Sequence[str | Path],
        *,
        pairs: str = "all",
        seed: int = 0,
    ) -> np.ndarray:
        """A content,style run: each digit picture rendered in each style picture
        (``pairs="zip"``: the i-th with the i-th); (n, 32, 32, 3) in [-1, 1]."""
        from gankit._tf import import_tensorflow
        from gankit.eval.sampling import image_files, pair_up, transfer

        import_tensorflow()
        found = pair_up(
            image_files(_paths(contents), "content"), image_files(_paths(styles), "style"), pairs
        )
        return transfer(self.dir, _registry(), found, seed)["images"]

    def translate(
        self, inputs: str | Path | Sequence[str | Path], out: str | Path, *, direction: str = "a2b"
    ) -> Any:
        """A translation run: translate picture files and folders into ``out`` (one PNG
        per input); returns what was written and what was skipped (``.written``,
        ``.skipped``)."""
        from gankit._tf import import_tensorflow
        from gankit.eval.translate import collect_inputs, translate_files

        import_tensorflow()
        found = collect_inputs([str(p) for p in _paths(inputs)])
        return translate_files(self.dir, _registry(), found, Path(out), direction=direction)

    def evaluate(
        self,
        metrics: str | Iterable[str] = ("fid",),
        *,
        n: int = 1000,
        split: str = "test",
        seed: int = 0,
        best: bool = False,
        data_dir: str | Path | None = None,
        **options: Any,
    ) -> dict[str, dict[str, Any]]:
        """Evaluate as ``gankit evaluate`` does (appended to ``evals.jsonl``); returns
        ``{metric: record}`` (``{"fid a2b": ...}`` per direction of a translation run),
        each record with its ``value`` and ``protocol``. ``options`` are the metrics'
        (``extractor="classifier"``)."""
        from gankit._tf import import_tensorflow
        from gankit.eval.runs import evaluate_run

        import_tensorflow()
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        records = evaluate_run(
            self.dir,
            _registry(),
            names,
            options=options,
            n=n,
            split=split,
            seed=seed,
            data_dir=_data_dir(self.dir, data_dir),
            best=best,
        )
        keyed = {}
        for record in records:
            direction = record["protocol"].get("direction")
            keyed[f"{record['metric']} {direction}" if direction else record["metric"]] = record
        return keyed

    # === Pictures ===

    def grids(self) -> list[Path]:
        """The sample grids written so far, oldest first."""
        return sorted(self.dir.samples_dir.glob("step_*.png"))

    def grid(self, step: int | None = None) -> np.ndarray:
        """The sample grid of ``step`` (default: the newest) as uint8 (H, W, 3)."""
        from PIL import Image

        path = self.dir.sample_path(step) if step is not None else (self.grids() or [None])[-1]
        if path is None or not Path(path).is_file():
            raise UsageError(
                f"{self.path} has no sample grid" + (f" at step {step}" if step else "")
            )
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    def _repr_html_(self) -> str:
        """The newest grid and the last logged numbers (a notebook's view of the run)."""
        rows = self.metrics()
        step = f", step {rows[-1]['step']}" if rows else ""
        head = (
            f"<b>gankit run</b> <code>{html.escape(str(self.path))}</code>: scheme "
            f"{html.escape(self.config.scheme)}, {html.escape(self.status)}{step}"
        )
        table = ""
        if rows:
            cells = "".join(
                f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>"
                for k, v in rows[-1].items()
                if isinstance(v, (int, float)) and k != "step"
            )
            table = f"<table>{cells}</table>"
        picture = ""
        if self.grids():
            buffer = io.BytesIO(self.grids()[-1].read_bytes())
            data = base64.b64encode(buffer.getvalue()).decode()
            picture = f'<img src="data:image/png;base64,{data}" style="max-width:480px"/>'
        return f"<div>{head}<div style='display:flex;gap:1em'>{picture}{table}</div></div>"

    def __repr__(self) -> str:
        return f"gankit.Run({str(self.path)!r})"


def _paths(value: str | Path | Sequence[str | Path]) -> list[Path]:
    return [Path(value)] if isinstance(value, (str, Path)) else [Path(v) for v in value]
