"""`kdbgtest images build|load`: the images some scenarios use, built with docker from the Dockerfiles kdbgtest
ships (`images/`, package data in a wheel) and loaded into a kind cluster, from any directory.

    kdbgtest images build [--print]               docker build -t kdbgtest/debug-toolbox:1 ... (both images)
    kdbgtest images load --name kdbgtest [--print]   kind load docker-image <both tags> --name kdbgtest

The distroless app's build context is staged under the user's cache directory (its Dockerfile and the C source
the offline cluster also builds), so a build never sends a whole checkout or site-packages to docker. `--print`
prints the commands (and stages that context, so they can be run later) instead of running them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbgtest.base import process, shipped, tools
from kdbgtest.base.errors import ToolMissing

BUILD_TIMEOUT = 1800.0  # the toolbox downloads packages
LOAD_TIMEOUT = 600.0
APP_SOURCE = Path(__file__).resolve().parent / "sim" / "images" / "distroless_app.c"


@dataclass(frozen=True)
class Image:
    tag: str
    directory: str  # under images/

    def context(self) -> Path:
        """The docker build context: the Dockerfile's directory, or a staged copy for the distroless app."""
        source = shipped.path("images") / self.directory
        if self.directory != "distroless-app":
            return source
        staged = cache_dir() / "image-contexts" / self.directory
        (staged / "kdbgtest" / "sim" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "Dockerfile", staged / "Dockerfile")
        shutil.copyfile(APP_SOURCE, staged / "kdbgtest" / "sim" / "images" / APP_SOURCE.name)
        return staged


IMAGES = (Image("kdbgtest/debug-toolbox:1", "debug"), Image("kdbgtest/distroless-app:1", "distroless-app"))


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kdbgtest"


def build_commands(docker: str = "docker") -> list[list[str]]:
    """`docker build` of every image."""
    return [[docker, "build", "-t", image.tag, str(image.context())] for image in IMAGES]


def load_commands(cluster: str, kind: str = "kind") -> list[list[str]]:
    """`kind load docker-image` of every image into the kind cluster `cluster`."""
    return [[kind, "load", "docker-image", *(image.tag for image in IMAGES), "--name", cluster]]


def add_parser(commands: Any) -> None:
    """Add `images build|load` to the `kdbgtest` subcommands."""
    text = "build the debug toolbox and distroless-app images with docker, or load them into a kind cluster"
    parser: argparse.ArgumentParser = commands.add_parser("images", help=text, description=text)
    actions = parser.add_subparsers(dest="action", metavar="{build,load}", required=True)
    build = actions.add_parser("build", help="docker build both images", description="docker build both images")
    load = actions.add_parser("load", help="kind load both images into a cluster", description="kind load both")
    load.add_argument("--name", default="kdbgtest", metavar="CLUSTER", help="the kind cluster (default: kdbgtest)")
    for sub in (build, load):
        sub.add_argument("--print", dest="dry_run", action="store_true", help="print the commands, run nothing")
    parser.set_defaults(func=cmd_images)


def cmd_images(args: argparse.Namespace) -> int:
    if args.action == "build":
        argvs = build_commands() if args.dry_run else build_commands(str(_require("docker")))
        timeout = BUILD_TIMEOUT
    else:
        if not args.dry_run:
            _require("docker")  # kind load reads the images from docker
        argvs = load_commands(args.name) if args.dry_run else load_commands(args.name, str(_require("kind")))
        timeout = LOAD_TIMEOUT
    for argv in argvs:
        print(shlex.join(argv), flush=True)
        if not args.dry_run:
            process.run(argv, timeout=timeout)
    return 0


def _require(name: str) -> Path:
    """The tool, or a one-line `ToolMissing` naming the fix (and `--print` for the commands alone)."""
    try:
        return tools.require(name)
    except ToolMissing as exc:
        raise ToolMissing(f"{exc}; or run `kdbgtest images ... --print` to see the commands") from None
