"""Ships the top-level ``registry.toml`` inside the wheel as ``gankit/registry.toml``.

Everything else lives in ``pyproject.toml``; setuptools cannot package a file that
sits outside a package directory without this small build step.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithRegistry(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "registry.toml"
        target = Path(self.build_lib) / "gankit" / "registry.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildPyWithRegistry})
