"""What an exported ``.keras`` file means, kept inside it.

A ``.keras`` file is a zip archive; Keras reads its ``config.json``, ``metadata.json``
and ``model.weights.h5`` and ignores other entries. gankit adds ``gankit.json``: which
run and role the network comes from, what each input means and the class names in
label order, so a file loaded with Keras alone can still be used correctly::

    import json, zipfile
    info = json.loads(zipfile.ZipFile("generator.keras").read("gankit.json"))
    info["class_names"][3]   # the class label index 3 draws
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["INFO_ENTRY", "add_export_info", "read_export_info"]

INFO_ENTRY = "gankit.json"


def add_export_info(path: Path, info: dict[str, Any]) -> None:
    """Add ``info`` as ``gankit.json`` to the ``.keras`` archive at ``path``."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(INFO_ENTRY, json.dumps(info, indent=1, sort_keys=True))


def read_export_info(path: str | Path) -> dict[str, Any]:
    """The ``gankit.json`` of a ``.keras`` file (``{}`` for a file exported before gankit
    wrote one, or by Keras alone). Raises ``OSError`` / ``zipfile.BadZipFile`` for a
    file that is not a readable archive."""
    with zipfile.ZipFile(path) as archive:
        if INFO_ENTRY not in archive.namelist():
            return {}
        return json.loads(archive.read(INFO_ENTRY))
