"""`kdbgtest images build|load`: the images some scenarios use (the debug toolbox and the fixture servers it
talks to), built here without docker, or with docker from the Dockerfiles kdbgtest ships (`images/`).

    kdbgtest images build [NAME ...] [--repin]   root filesystems from pinned Debian packages (+ Go modules, PyPI
                                                 wheels), as docker-save archives in ~/.cache/kdbgtest (all
                                                 images without NAME; see kdbgtest/imagebuild/)
    kdbgtest images build --docker [--print]     docker build -t kdbgtest/debug-toolbox:1 ... (every Dockerfile)
    kdbgtest images load --name kdbgtest [--docker] [--print]
                                                 kind load image-archive <each built archive> --name kdbgtest
                                                 (--docker: kind load docker-image <every tag>)

The distroless app's docker build context is staged under the user's cache directory (its Dockerfile and the C
source the offline cluster also builds), so a build never sends a whole checkout or site-packages to docker.
`--print` prints the commands (and stages that context, so they can be run later) instead of running them.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbgtest.base import process, shipped, tools
from kdbgtest.base.errors import KdbgtestError, ToolMissing
from kdbgtest.imagebuild import recipes

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


IMAGES = (
    Image("kdbgtest/debug-toolbox:1", "debug"),
    Image("kdbgtest/distroless-app:1", "distroless-app"),
    *(
        Image(r.repo_tag.removeprefix("docker.io/"), r.directory)
        for r in recipes.RECIPES.values()
        if r.name != "toolbox" and (shipped.path("images") / r.directory / "Dockerfile").is_file()
    ),
)


def cache_dir() -> Path:
    from kdbgtest.imagebuild import build as image_build  # not for `kdbgtest --help`: built or looked for

    return image_build.cache_dir()


def build_commands(docker: str = "docker") -> list[list[str]]:
    """`docker build` of every image."""
    return [[docker, "build", "-t", image.tag, str(image.context())] for image in IMAGES]


def load_commands(cluster: str, kind: str = "kind") -> list[list[str]]:
    """`kind load docker-image` of every image into the kind cluster `cluster`."""
    return [[kind, "load", "docker-image", *(image.tag for image in IMAGES), "--name", cluster]]


def archive_load_commands(cluster: str, kind: str = "kind") -> list[list[str]]:
    """`kind load image-archive` of every archive `kdbgtest images build` made."""
    return [[kind, "load", "image-archive", str(path), "--name", cluster] for path in built_archives()]


def built_archives() -> list[Path]:
    from kdbgtest.imagebuild import build as image_build

    return [p for p in (image_build.archive_path(r) for r in recipes.RECIPES.values()) if p.is_file()]


def add_parser(commands: Any) -> None:
    """Add `images build|load` to the `kdbgtest` subcommands."""
    text = "build the debug toolbox and fixture images (here, or with docker), or load them into a kind cluster"
    parser: argparse.ArgumentParser = commands.add_parser("images", help=text, description=text)
    actions = parser.add_subparsers(dest="action", metavar="{build,load}", required=True)
    build = actions.add_parser("build", help="build images", description=__doc__.split("\n\n")[1],
                               formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    build.add_argument("names", nargs="*", metavar="NAME",
                       help=f"images to build here: {', '.join(recipes.RECIPES)} (default: all)")  # fmt: skip
    build.add_argument("--repin", action="store_true", help="re-resolve the Debian versions into the pins files")
    build.add_argument("--if-changed", action="store_true",
                       help="skip images whose archive was built from the current pins and sources")  # fmt: skip
    load = actions.add_parser("load", help="kind load the images into a cluster", description="kind load")
    load.add_argument("--name", default="kdbgtest", metavar="CLUSTER", help="the kind cluster (default: kdbgtest)")
    for sub in (build, load):
        sub.add_argument("--docker", action="store_true", help="docker build / kind load docker-image instead")
        sub.add_argument("--print", dest="dry_run", action="store_true", help="print the commands, run nothing")
    parser.set_defaults(func=cmd_images)


def cmd_images(args: argparse.Namespace) -> int:
    from kdbgtest.imagebuild import build as image_build

    if args.action == "build" and not args.docker:
        if args.dry_run:
            raise KdbgtestError("--print goes with --docker; a build here prints what it installs as it goes")
        unknown = [name for name in args.names if name not in recipes.RECIPES]
        if unknown:
            raise KdbgtestError(f"no image named {', '.join(unknown)}; choose from {', '.join(recipes.RECIPES)}")
        names = args.names or list(recipes.RECIPES)
        if args.if_changed and not args.repin:
            fresh = [name for name in names if image_build.up_to_date(recipes.RECIPES[name])]
            if fresh:
                print(f"up to date: {', '.join(fresh)} (in {image_build.archives_dir()})", flush=True)
            names = [name for name in names if name not in fresh]
        return _build_here(names, args.repin)
    if args.action == "build":
        argvs = build_commands() if args.dry_run else build_commands(str(_require("docker")))
        timeout = BUILD_TIMEOUT
    else:
        if args.docker and not args.dry_run:
            _require("docker")  # kind load docker-image reads the images from docker
        kind = "kind" if args.dry_run else str(_require("kind"))
        argvs = load_commands(args.name, kind) if args.docker else archive_load_commands(args.name, kind)
        if not argvs:
            raise KdbgtestError("no image archive is built; run `kdbgtest images build` (or use --docker)")
        timeout = LOAD_TIMEOUT
    for argv in argvs:
        print(shlex.join(argv), flush=True)
        if not args.dry_run:
            process.run(argv, timeout=timeout)
    return 0


def _build_here(names: list[str], repin: bool) -> int:
    from kdbgtest.imagebuild import build as image_build

    started = time.monotonic()
    for name in names:
        image_build.build(recipes.RECIPES[name], repin=repin, say=lambda line: print(line, flush=True))
    print(f"built {len(names)} image(s) in {time.monotonic() - started:.0f}s into {image_build.archives_dir()}")
    return 0


def _require(name: str) -> Path:
    """The tool, or a one-line `ToolMissing` naming the fix (and `--print` for the commands alone)."""
    try:
        return tools.require(name)
    except ToolMissing as exc:
        raise ToolMissing(f"{exc}; or run `kdbgtest images ... --print` to see the commands") from None
