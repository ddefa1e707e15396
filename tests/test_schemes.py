"""Training schemes: the ``gan`` scheme is today's training, and a third party's scheme of
two generators trains, resumes, exports its roles and passes (or fails) ``gankit check``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gankit.cli import cli

PLUGIN = Path(__file__).parent / "fixtures" / "plugins" / "mixture_scheme.py"
TINY = [
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "2",
    "--sample-every",
    "3",
    "--checkpoint-every",
    "3",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_the_gan_scheme_is_listed_with_its_roles():
    result = invoke("list-plugins", "--family", "schemes", "--json")
    assert result.exit_code == 0, result.output
    plugin = next(row for row in json.loads(result.stdout) if row["name"] == "gan")
    gan = plugin["components"]["schemes"][0]
    assert gan["name"] == "gan" and gan["roles"] == {
        "generator": "generators",
        "discriminator": "discriminators",
    }
    assert gan["options"] == {"l1_weight": 100.0}


def test_gan_is_the_default_scheme_and_names_itself(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = invoke("train", "--out", str(out), *TINY, "--steps", "3", "--scheme", "gan")
    assert result.exit_code == 0, (result.output, result.exception)
    assert 'scheme = "gan"' in (out / "config.toml").read_text()


def test_a_third_party_scheme_trains_resumes_and_exports_its_roles(tmp_path, tiny_data):
    import keras

    out = tmp_path / "M"
    base = [
        "--plugin",
        str(PLUGIN),
        "train",
        "--out",
        str(out),
        *TINY,
        "--scheme",
        "mixture",
        "--condition",
        "none",
        "--no-parts",
    ]
    result = invoke(*base, "--steps", "3")
    assert result.exit_code == 0, (result.output, result.exception)
    result = invoke(*base, "--steps", "6")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "from step 3" in result.stderr
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3, 4, 6] and all(
        "g_spread" in r and "d_loss" in r for r in rows
    )
    with np.load(out / "checkpoints" / "step_000006.npz") as data:
        groups = set(json.loads(str(data["__meta__"])))
    assert groups == {
        "g_1/weights",
        "g_2/weights",
        "discriminator/weights",
        "D/optimizer",
        "G/optimizer",
    }
    info = json.loads((out / "run.json").read_text())
    assert info["scheme"] == "mixture" and set(info["parameters"]) == {
        "g_1",
        "g_2",
        "discriminator",
    }
    first = keras.models.load_model(out / "generator.keras", safe_mode=True)
    second = keras.models.load_model(out / "generator_2.keras", safe_mode=True)
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    a, b = np.asarray(first({"z": z})), np.asarray(second({"z": z}))
    assert a.shape == b.shape == (2, 32, 32, 3) and not np.allclose(a, b)


def test_gankit_check_passes_a_good_scheme_and_names_each_broken_one():
    result = invoke("check", str(PLUGIN))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "ok   scheme 'mixture' (check_scheme)" in lines
    assert (
        "FAIL scheme 'nobody-builds' (check_scheme): group 'G' updates role 'g_3', which no role "
        "declares (roles: g_1, g_2, discriminator)"
    ) in lines
    assert (
        "FAIL scheme 'not-a-scalar' (check_scheme): losses['D'] returned a value of shape (8, 1), "
        "not a scalar (the mean over the batch)"
    ) in lines


def test_a_group_with_no_variables_fails_the_check():
    import gankit

    class Frozen:
        requires = "images"
        roles = (gankit.Role("discriminator", "discriminators"),)
        groups = (gankit.Group("D", ("discriminator",), side="discriminator", prefix="d"),)

        def setup(self, nets):
            nets["discriminator"].trainable = False

        def losses(self, step):
            return {"D": 0.0}

    def build_frozen(context):
        """A scheme whose only network does not train."""
        return Frozen()

    with pytest.raises(AssertionError, match="group 'D' has no trainable variables"):
        gankit.check_scheme(build_frozen)


def test_the_l1_weight_moved_from_the_loss_to_the_scheme(tmp_path, tiny_data):
    out = tmp_path / "R"
    result = invoke("train", "--out", str(out), *TINY, "--steps", "2", "-o", "loss.l1_weight=0")
    assert result.exit_code == 0, (result.output, result.exception)
    from gankit.io.toml import loads_toml

    options = loads_toml((out / "config.toml").read_text())["options"]
    assert options["scheme"] == {"l1_weight": 0.0} and "l1_weight" not in options["loss"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert "g_l1" not in rows[-1]  # weight 0: no term


def test_the_scheme_tutorial_code_is_the_tested_plugin():
    import re

    text = (Path(__file__).parent.parent / "docs" / "writing-plugins.md").read_text()
    section = text.split("## 7. A scheme")[1].split("\n## ")[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    namespace: dict = {}
    exec(compile(code, "writing-plugins.md", "exec"), namespace)
    import gankit

    gankit.check_scheme(namespace["build_mixture"])
    fixture = PLUGIN.read_text()
    assert namespace["MixtureScheme"].__doc__ in fixture and "def losses(self, step):" in code
