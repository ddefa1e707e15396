"""The trainer checks what a dataset yields, and what the models need of it, before a
run folder exists; each problem is one line naming the dataset or model and its plugin."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import FIXTURES


@pytest.mark.parametrize(
    "name, words",
    [
        (
            "uint8-blocks",
            "dataset 'uint8-blocks' from plugin 'odd_datasets': first training batch: image dtype "
            "uint8 != float32",
        ),
        (
            "0-255-blocks",
            "dataset '0-255-blocks' from plugin 'odd_datasets': first training batch: image values "
            "in [62.75, 62.75], outside [-1, 1]",
        ),
        (
            "forty-blocks",
            "generator 'dcgan' from plugin 'dcgan': factory raised ValueError: `image_shape` must "
            "be "
            "square with a power-of-two side >= 8, received `(40, 40, 3)`. (building for dataset "
            "'forty-blocks': 40x40x3 images)",
        ),
    ],
)
def test_bad_data_is_refused_before_the_run_folder(tmp_path, name, words):
    from gankit.cli import cli

    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "--plugin",
            str(FIXTURES / "plugins" / "odd_datasets.py"),
            "train",
            "--dataset",
            name,
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "8",
        ],
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {words}"), result.stderr
    assert not out.exists()
