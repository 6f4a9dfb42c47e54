"""Build hook: the wheel carries the repository's user-facing files as package data under `kdbgtest/_data/`
(the scenario JSON Schema, the kind configs of `clusters/`, the image Dockerfiles of `images/`), copied from
their one place in the repository at build time. `kdbgtest.base.shipped` finds them in an installed wheel, and
in the repository itself for a checkout or an editable install."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("schema", "clusters", "images")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "kdbgtest" / "_data"
        for name in SHIPPED:
            shutil.copytree(ROOT / name, target / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
