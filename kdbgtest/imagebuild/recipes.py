"""The images `kdbgtest images build` makes: the debug toolbox and the fixture servers its scenarios talk to.

Each has a directory under `images/` with its `pins.txt` (read by the builder and by its Dockerfile) and
Dockerfile; the recipe adds what the Dockerfile's apt-get would have done through maintainer scripts (the
alternatives links) and the image config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kdbgtest.imagebuild import archive


@dataclass(frozen=True)
class Recipe:
    name: str  # as `kdbgtest images build NAME` names it
    repo_tag: str
    directory: str  # under images/
    config: archive.Config
    # What update-alternatives would link (path in the image -> symlink target), from the packages' postinst
    links: dict[str, str] = field(default_factory=dict)
    users: tuple[str, ...] = ()  # system users (and groups) the packages' postinst would add with adduser
    go_app: str = ""  # a Go main package in the image's directory, built to this path in the image

    @property
    def file_name(self) -> str:
        return self.repo_tag.replace("/", "_").replace(":", "_") + ".tar"


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "toolbox", "docker.io/kdbgtest/debug-toolbox:1", "debug", archive.Config(cmd=("bash",)),
            links={**{f"usr/bin/{name}": "vim.basic" for name in ("vim", "vi", "ex", "view", "editor")},
                   "usr/bin/awk": "mawk", "usr/bin/which": "which.debianutils", "etc/mysql/my.cnf": "mariadb.cnf",
                   "usr/lib/x86_64-linux-gnu/libblas.so.3": "blas/libblas.so.3"},
            users=("tcpdump",),  # tcpdump drops to it after opening the capture
        ),
        Recipe("redis", "docker.io/kdbgtest/redis:1", "redis", archive.Config(entrypoint=("redis-server",))),
        Recipe(
            "mariadb", "docker.io/kdbgtest/mariadb:1", "mariadb", archive.Config(cmd=("sh",)),
            links={"usr/bin/awk": "mawk"},
        ),
        Recipe(
            "dnsmasq", "docker.io/kdbgtest/dnsmasq:1", "dnsmasq",
            archive.Config(entrypoint=("dnsmasq", "--keep-in-foreground", "--log-facility=-", "--user=root",
                                        "--pid-file")),
        ),
        Recipe("grpc-app", "docker.io/kdbgtest/grpc-app:1", "grpc-app", archive.Config(entrypoint=("/app",)),
               go_app="app"),
    )
}  # fmt: skip
