"""Generate the documentation's reference pages from the code they describe.

``python docs/generate_reference.py`` rewrites ``docs/cli.md`` (every command's ``--help``)
and ``docs/hooks.md`` (every hook spec's signature and docstring, and the context
objects hooks receive). A test fails when either page is out of date, so the reference
cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

__all__ = ["cli_reference", "hook_reference", "write_reference"]

WIDTH = 100
DOCS = Path(__file__).resolve().parent


def cli_reference() -> str:
    """Markdown: the help of ``gankit`` and each of its commands, as a terminal shows it."""
    import click

    from gankit.cli import cli
    from gankit.cli.common import CONTEXT_SETTINGS

    parts = [
        "# CLI reference",
        "",
        "Every command's `--help`, generated from the click commands by "
        "`python docs/generate_reference.py` (a test checks this page is current).",
        "",
    ]
    settings = {**CONTEXT_SETTINGS, "terminal_width": WIDTH, "max_content_width": WIDTH}
    root = click.Context(cli, info_name="gankit", **settings)
    parts += ["## gankit", "", "```text", cli.get_help(root), "```", ""]
    for name in sorted(cli.commands):
        command = cli.commands[name]
        ctx = click.Context(command, info_name=name, parent=root, **settings)
        parts += [f"## gankit {name}", "", "```text", command.get_help(ctx), "```", ""]
    return "\n".join(parts)


def hook_reference() -> str:
    """Markdown: each hook spec's signature and contract, then the context objects."""
    from gankit import scheme, types
    from gankit.plugin import hookspecs

    parts = [
        "# Hook reference",
        "",
        "Generated from `gankit/plugin/hookspecs.py` and the context classes by "
        "`python docs/generate_reference.py`; a test fails when a hook is missing here.",
        "",
        "A plugin implements any of these hooks with `@gankit.hookimpl`. Each receives "
        "`register(name, factory, *, summary=None)`; the factory's keyword-only "
        "parameters are the component's options. See [Writing a plugin](writing-plugins.md).",
        "",
        _doc(hookspecs.__doc__),
        "",
    ]
    for name in _hook_names():
        fn = getattr(hookspecs, name)
        parts += [
            f"## `{name}`",
            "",
            "```python",
            f"@gankit.hookimpl\ndef {name}{_signature(fn)}: ...",
            "```",
            "",
            _doc(fn.__doc__),
            "",
        ]
    parts += ["# Objects passed to components", ""]
    for cls in (
        types.ModelSpec,
        types.LossContext,
        types.DataContext,
        types.EvalContext,
        scheme.SchemeContext,
        scheme.Step,
        scheme.Role,
        scheme.Group,
    ):
        parts += [f"## `gankit.{cls.__name__}`", "", _doc(cls.__doc__), ""]
    return "\n".join(parts)


def _hook_names() -> list[str]:
    from gankit.plugin import hookspecs

    return [n for n, obj in vars(hookspecs).items() if n.startswith("register_") and callable(obj)]


def _signature(fn: object) -> str:
    return str(inspect.signature(fn)).replace("'", "")


def _doc(text: str | None) -> str:
    """A docstring as Markdown: reST ``::`` blocks become fenced code."""
    lines = inspect.cleandoc(text or "").splitlines()
    out: list[str] = []
    in_code = in_fields = False
    for line in lines:
        line = re.sub(r":(?:data|class|func|meth|mod|attr):`~?([^`]+)`", r"`\1`", line)
        line = re.sub(r"^:param (\w+):", r"**\1**:", line)
        if line.strip() in ("Attributes:", "Args:", "Returns:"):
            in_fields = True
            out.append(f"**{line.strip()[:-1]}**")
            out.append("")
            continue
        if in_fields:
            field_match = re.match(r"^    (\w[\w, ]*): (.*)$", line)
            if field_match:
                names = ", ".join(f"`{n.strip()}`" for n in field_match.group(1).split(","))
                out.append(f"- {names}: {field_match.group(2).replace('``', '`')}")
                continue
            if line.startswith("        "):
                out[-1] += " " + line.strip().replace("``", "`")
                continue
            in_fields = False
        if in_code and line and not line.startswith("    "):
            out.append("```")
            in_code = False
        if in_code:
            out.append(line[4:])
            continue
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-1])
            out.extend(["", "```python"])
            in_code = True
            continue
        out.append(line.replace("``", "`"))
    if in_code:
        out.append("```")
    text = "\n".join(out)
    while "```python\n\n" in text:
        text = text.replace("```python\n\n", "```python\n")
    while "\n\n```\n" in text:
        text = text.replace("\n\n```\n", "\n```\n\n")
    return text.strip()


def write_reference(docs: Path = DOCS) -> list[Path]:
    pages = {docs / "cli.md": cli_reference(), docs / "hooks.md": hook_reference()}
    for path, text in pages.items():
        path.write_text(text.rstrip() + "\n")
    return list(pages)


if __name__ == "__main__":
    for written in write_reference():
        print(f"wrote {written}", file=sys.stderr)
