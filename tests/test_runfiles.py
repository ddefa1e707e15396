"""Atomic writes: a failed write leaves neither a partial file nor a temp file."""

from __future__ import annotations

import errno
import os

import pytest

from gankit.errors import GankitError
from gankit.io.files import atomic_write_bytes, read_jsonl, save_npz


def test_full_disk_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.npz"
    save_npz(target, {"a": [1, 2, 3]})
    before = target.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(GankitError, match=r"cannot write .*ckpt.npz: No space left on device"):
        save_npz(target, {"a": [4, 5, 6]})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_unwritable_folder_is_a_gankit_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GankitError, match="cannot write"):
        atomic_write_bytes(blocker / "x" / "y.bin", b"data")


def test_read_jsonl_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"st')
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]


def test_written_files_get_the_usual_permissions(tmp_path):
    path = atomic_write_bytes(tmp_path / "a.bin", b"x")
    expected = 0o666 & ~_current_umask()
    assert path.stat().st_mode & 0o777 == expected


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
