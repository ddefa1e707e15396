"""The plugin contract as a stranger meets it: one-line errors naming the plugin, the
registration rules, building components by name, declared training settings, extra
scalars, the update rules' semantics and the contract kit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gankit
from gankit.cli import cli
from gankit.io.toml import loads_toml

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).resolve().parent.parent / "docs"
TINY = [
    "--condition",
    "none",
    "--batch-size",
    "8",
    "--latent-dim",
    "8",
    "--log-every",
    "1",
    "--sample-every",
    "100",
    "--checkpoint-every",
    "100",
    "--precision",
    "float32",
    "-o",
    "generator.width=4",
    "-o",
    "discriminator.width=4",
]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def error_lines(result) -> list[str]:
    return [
        line
        for line in result.stderr.splitlines()
        if not line.startswith(("Warning:", "training into"))
    ]


def plugin(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text("import gankit\n" + code)
    return str(path)


BROKEN = {
    "syntax": "def build(spec, *, width: int = 8)\n    pass\n",
    "positional": (
        "def build(spec, depth):\n    '''A generator with a positional option.'''\n\n"
        "@gankit.hookimpl\ndef register_generators(register):\n    register('resnet-small', "
        "build)\n"
    ),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_plugin_is_warned_about_and_named_when_its_component_is_asked_for(
    tmp_path, tiny_data, kind
):
    path = plugin(tmp_path, f"broken_{kind}", BROKEN[kind])
    result = invoke(
        "--plugin",
        path,
        "train",
        "--generator",
        "resnet-small",
        "--out",
        str(tmp_path / "R"),
        *TINY,
    )
    assert result.exit_code == 2
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [warnings[0]] and f"plugin 'broken_{kind}' was not loaded" in warnings[0]
    [error] = error_lines(result)
    assert error.startswith(
        "Error: unknown generator 'resnet-small' (did you mean 'resnet'?); available: dcgan, "
        "resnet, resnet-translator, unet; plugins that failed"
    )
    assert f"broken_{kind}" in error
    rows = json.loads(
        invoke("--plugin", path, "list-plugins", "--json", "--family", "losses").stdout
    )
    assert any(r["name"] == f"broken_{kind}" and r["status"] == "error" for r in rows)


def test_a_plugin_package_is_named_after_its_folder(tmp_path):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "helpers.py").write_text("NAME = 'from-a-relative-import'\n")
    (package / "__init__.py").write_text(
        "import gankit\nfrom .helpers import NAME\n\ndef build(*, w: float = 1.0):\n    '''x'''\n\n"
        "@gankit.hookimpl\ndef register_losses(register):\n    register(NAME, build)\n"
    )
    rows = json.loads(
        invoke("--plugin", str(package / "__init__.py"), "list-plugins", "--json").stdout
    )
    row = next(r for r in rows if r["source"] == "local")
    assert (row["name"], row["status"]) == ("mypkg", "ok")
    assert row["components"]["losses"][0]["name"] == "from-a-relative-import"


RUNTIME = {
    "factory": (
        "def build(spec, *, width: int = 8):\n    '''Raises.'''\n"
        "    raise ValueError('width must be even')\n\n"
        "@gankit.hookimpl\ndef register_generators(register):\n    register('bad', build)\n",
        ["--generator", "bad"],
        "Error: generator 'bad' from plugin 'runtime_factory': factory raised ValueError: width "
        "must be even",
    ),
    "traced": (
        "class Bad:\n    def discriminator_loss(self, ctx):\n        return ctx.real_logits + 'x'\n"
        "    def generator_loss(self, ctx):\n        return ctx.fake_logits\n\n"
        "def build():\n    '''Fails while traced.'''\n    return Bad()\n\n"
        "@gankit.hookimpl\ndef register_losses(register):\n    register('bad', build)\n",
        ["--loss", "bad"],
        "Error: loss 'bad' from plugin 'runtime_traced': discriminator_loss raised TypeError: ",
    ),
    "no-gradient": (
        "from keras import ops\n\nclass NoGrad:\n"
        "    def discriminator_loss(self, ctx):\n        return "
        "ops.mean(ops.softplus(ctx.fake_logits - ctx.real_logits))\n"
        "    def generator_loss(self, ctx):\n        return ops.mean(ctx.real_logits)\n\n"
        "def build():\n    '''No gradient to G.'''\n    return NoGrad()\n\n"
        "@gankit.hookimpl\ndef register_losses(register):\n    register('bad', build)\n",
        ["--loss", "bad"],
        "Error: loss 'bad' from plugin 'runtime_no_gradient': generator_loss carries no gradient "
        "to the "
        "generator's weights",
    ),
}


@pytest.mark.parametrize("kind", RUNTIME)
def test_plugin_code_failing_at_run_time_is_one_line_and_the_run_is_marked_failed(
    tmp_path, tiny_data, kind
):
    code, args, message = RUNTIME[kind]
    path = plugin(tmp_path, f"runtime_{kind.replace('-', '_')}", code)
    out = tmp_path / "R"
    result = invoke("--plugin", path, "train", *args, "--steps", "2", "--out", str(out), *TINY)
    assert result.exit_code == 1, result.output
    [error] = error_lines(result)
    assert error.startswith(message), error
    if kind == "factory":  # models are built before the run folder is made: nothing is left behind
        assert not out.exists()
        return
    info = json.loads((out / "run.json").read_text())
    assert (
        info["status"] == "failed"
        and info["step"] == 0
        and info["error"] == error[len("Error: ") :]
    )
    assert (out / "config.toml").is_file()  # what was written stays


def test_non_finite_loss_before_any_checkpoint_says_so(tmp_path, tiny_data):
    result = invoke(
        "--plugin",
        str(FIXTURES / "plugins" / "extra_loss.py"),
        "train",
        "--loss",
        "nan-after",
        "-o",
        "loss.steps=1",
        "--steps",
        "4",
        "--out",
        str(tmp_path / "R"),
        *TINY,
    )
    assert result.exit_code == 1
    assert error_lines(result)[-1].endswith("stopped; no checkpoint had been written yet")


def test_create_builds_a_registered_component_as_its_factory_would():
    spec = gankit.ModelSpec((32, 32, 3), 8)
    discriminator = gankit.create("discriminators", "dcgan", spec, width=4)
    assert discriminator({"image": np.zeros((2, 32, 32, 3), np.float32)}).shape == (2, 1)
    assert type(gankit.create("loss", "minimax")).__name__ == "MinimaxLoss"
    with pytest.raises(gankit.OptionError, match="option `width` expects int"):
        gankit.create("discriminator", "dcgan", spec, width="wide")
    with pytest.raises(gankit.UnknownComponentError, match="unknown loss 'nope'"):
        gankit.create("losses", "nope")
    losses = {c.name: c for c in gankit.registered("losses")}
    assert (
        losses["wgan-gp"].training.declared()["d_steps"] == 5
        and losses["wgan-gp"].plugin == "losses"
    )


def test_noise_streams_never_collide_for_any_d_steps():
    import tensorflow as tf

    from gankit.training.stepper import Stepper

    step = Stepper.__new__(Stepper)
    step.seed, step.replicas = 0, 1
    draws = {
        (s, k, salt): np.asarray(step.noise(2, 4, tf.constant(s, tf.int64), k, salt))
        for s in range(3)
        for k in range(12)
        for salt in range(3)
    }
    flat = {tuple(np.round(v.ravel(), 6)) for v in draws.values()}
    assert len(flat) == len(draws)


def test_each_replica_gets_its_slice_of_every_discriminator_batch():
    import tensorflow as tf

    from gankit.training.loop import input_pipeline

    class Counting:
        def load(self, split, epoch=0):
            return tf.data.Dataset.range(64).map(lambda i: {"image": tf.cast(i, tf.float32)[None]})

    element = next(
        iter(
            input_pipeline(
                Counting(), ["image"], batch_size=4, seed=0, epoch=0, d_steps=2, replicas=2
            )
        )
    )["image"][:, 0].numpy()
    alone = next(
        iter(input_pipeline(Counting(), ["image"], batch_size=4, seed=0, epoch=0, d_steps=2))
    )
    batches = np.split(alone["image"][:, 0].numpy(), 2)  # the two global batches of the step
    replica0, replica1 = np.split(element, 2)
    for k in range(2):
        assert list(np.split(replica0, 2)[k]) == list(batches[k][:2])
        assert list(np.split(replica1, 2)[k]) == list(batches[k][2:])


def test_relativistic_losses_match_a_hand_computation(tmp_path, tiny_data):
    """The alternating update: D's loss from D before its update, G's from D after it, on
    the same real batch and fakes."""
    import keras
    import tensorflow as tf

    from gankit.plugin.loader import LoadOptions, load_plugins
    from gankit.run.checkpoints import CheckpointStore
    from gankit.run.config import merge_config
    from gankit.run.models import build_models
    from gankit.run.resolve import resolve_components
    from gankit.run.rundir import RunDir
    from gankit.training.trainer import Trainer

    sys.path.insert(0, str(FIXTURES / "plugins"))
    from relativistic import ragan_d

    registry = load_plugins(
        LoadOptions(plugins=[str(FIXTURES / "plugins" / "relativistic.py")])
    ).registry
    config = merge_config(
        {
            "condition": "none",
            "parts": False,
            "loss": "ra-test",
            "batch_size": 8,
            "latent_dim": 8,
            "steps": 1,
            "log_every": 1,
            "checkpoint_every": 1,
            "precision": "float32",
            "options": {"generator": {"width": 4}, "discriminator": {"width": 4}},
        }
    )
    resolved = resolve_components(config, registry)
    trainer = Trainer(config, registry, resolved, RunDir(tmp_path / "R"), live_progress=False)
    record = trainer.run(0).records[0]

    keras.utils.set_random_seed(config.seed)  # the trainer's initial weights
    before = build_models(config, resolved)
    after = build_models(config, resolved)
    CheckpointStore.load(
        tmp_path / "R" / "checkpoints" / "step_000001.npz",
        {"discriminator/weights": list(after.discriminator.weights)},
    )
    real = next(iter(trainer.input_pipeline(0)))["image"]
    # the update rule's noise for step 0, stream 0
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([config.seed, 0x6A6B], tf.int64), tf.constant(0, tf.int64)
    )
    key = tf.random.experimental.stateless_fold_in(key, tf.constant(0, tf.int64))
    z = tf.random.stateless_normal((8, 8), seed=key)
    fake = before.generator({"z": z}, training=True)

    def logits(d, x):
        return d.discriminator({"image": x}, training=True)

    d_loss = float(ragan_d(logits(before, real), logits(before, fake)))
    g_loss = float(ragan_d(logits(after, fake), logits(after, real)))
    assert record["d_loss"] == pytest.approx(d_loss, rel=1e-4, abs=1e-5)
    assert record["g_loss"] == pytest.approx(g_loss, rel=1e-4, abs=1e-5)
    stale = float(ragan_d(logits(after, fake), logits(before, real)))  # the old rule's mix
    assert abs(stale - g_loss) > 1e-4


def docs_python(page: str, heading: str) -> list[str]:
    text = (DOCS / page).read_text().split(heading, 1)[1]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_wgan_gp_plugin_of_the_docs_trains_with_its_declared_settings(
    tmp_path, tiny_data, monkeypatch
):
    module, tests = docs_python("losses.md", "## A worked example: WGAN-GP as a plugin")
    package = tmp_path / "gankit_mywgan"
    package.mkdir()
    (package / "__init__.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {}
    exec(compile(tests, "docs-tests", "exec"), namespace)
    namespace["test_my_wgan_gp_meets_the_contract"]()
    out = tmp_path / "R"
    result = invoke(
        "--plugin",
        str(package / "__init__.py"),
        "train",
        "--loss",
        "my-wgan-gp",
        "--steps",
        "2",
        "-o",
        "discriminator.batch_norm=false",
        "--out",
        str(out),
        *TINY,
    )
    assert result.exit_code == 0, result.output
    config = loads_toml((out / "config.toml").read_text())
    declared = {"lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9, "d_steps": 5}
    assert {k: config[k] for k in declared} == declared
    assert {config["sources"][k] for k in declared} == {"loss 'my-wgan-gp'"}
    assert (
        config["sources"]["batch_size"] == "command line"
        and config["sources"]["seed"] == "gankit default"
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all({"d_gp", "d_wasserstein"} <= set(r) for r in rows)
    assert all(np.isfinite(r["d_gp"]) for r in rows)


def test_flags_and_config_files_win_over_declared_settings(tmp_path, tiny_data):
    cfg = tmp_path / "run.toml"
    cfg.write_text("beta2 = 0.99\n")
    out = tmp_path / "R"
    result = invoke(
        "train",
        "--loss",
        "wgan-gp",
        "--config",
        str(cfg),
        "--d-steps",
        "2",
        "--steps",
        "1",
        "--out",
        str(out),
        *TINY,
    )
    assert result.exit_code == 0, result.output
    config = loads_toml((out / "config.toml").read_text())
    assert (config["d_steps"], config["beta2"], config["lr_g"]) == (2, 0.99, 1e-4)
    assert config["sources"]["d_steps"] == "command line"
    assert config["sources"]["beta2"] == f"config file {cfg}"
    assert config["sources"]["lr_g"] == "loss 'wgan-gp'"


def test_the_gallery_of_wrong_components_fails_the_kit():
    sys.path.insert(0, str(FIXTURES))
    from wrong_components import WRONG, run_all

    for name, message in run_all().items():
        assert message != "PASSED", f"the kit passed the wrong component {name!r}"
        for words in WRONG[name][2]:
            assert words in message, (name, message)


def test_the_gallery_fails_the_kit_under_python_dash_o():
    result = subprocess.run(
        [sys.executable, "-O", str(FIXTURES / "wrong_components.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    assert results and "PASSED" not in results.values(), results


def test_the_right_relativistic_hinge_passes_the_kit():
    sys.path.insert(0, str(FIXTURES))
    from wrong_components import RelativisticHinge

    import gankit

    gankit.check_loss(RelativisticHinge, precisions=("float32",))
