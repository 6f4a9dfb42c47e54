"""The offline cluster's `kdbgtest/debug-toolbox` and the fixture servers its scenarios talk to (redis, mariadb,
dnsmasq, grpc-app): the docker-save archives `kdbgtest images build` made from pinned Debian packages
(kdbgtest/imagebuild/), imported into the image cache like `ctr images import` would. The same archives are what
the local real cluster imports and what kind users load, so every cluster runs the same files.

An image whose archive was not built fails like a pull from an unreachable registry, naming the command that
builds it; `missing()` names them, so a provider offers `toolbox-image` only when every one is built.
"""

from __future__ import annotations

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.imagebuild import archive, recipes
from kdbgtest.imagebuild import build as image_build
from kdbgtest.sim.node import images

REPOSITORY = "docker.io/kdbgtest/debug-toolbox"
# The commands the toolbox promises (images/debug/pins.txt), for scenarios and tests that check them.
TOOLS = (
    "bash", "curl", "wget", "jq", "tcpdump", "strace", "ip", "dig", "nmap", "htop", "iftop", "vim", "mysql",
    "redis-cli", "grpcurl", "httpstat", "tar",
)  # fmt: skip
REPOSITORIES = {r.repo_tag.rsplit(":", 1)[0]: r for r in recipes.RECIPES.values()}


def missing() -> list[str]:
    """The images (by `kdbgtest images build` name) whose archive is not built on this host."""
    return image_build.missing()


def node_images() -> list[dict[str, object]]:
    """The built archives as a node's `status.images`, as a kubelet lists what `ctr images import` loaded (so a
    client that reaches the sim only by kubeconfig sees the toolbox there, as on kind or the local cluster)."""
    return [{"names": [r.repo_tag], "sizeBytes": image_build.archive_path(r).stat().st_size} for r in _built()]


def imported(image: str) -> bool:
    """Whether `image` is one the node lists (`node_images`): a built archive under its own tag, present as an
    imported image is, so `imagePullPolicy: Never` runs it and `IfNotPresent` says it is already present."""
    try:
        ref = images.parse_reference(image)
    except images.InvalidImageName:
        return False
    return any(str(ref) == r.repo_tag for r in _built())


def _built() -> list[recipes.Recipe]:
    """The recipes whose archive is built on this host: the images a node lists and runs without a pull."""
    return [r for r in recipes.RECIPES.values() if image_build.archive_path(r).is_file()]


def build(store: images.ImageStore, ref: images.Reference) -> images.Image:
    """The image for `ref` (any tag) from its built archive, unpacked once per image ID into the store."""
    recipe = REPOSITORIES[ref.repository]
    path = image_build.archive_path(recipe)
    if not path.is_file():
        raise images.ImageUnavailable(
            f'failed to pull and unpack image "{ref}": kdbgtest sim has no archive of it at {path}; '
            f"build it: kdbgtest images build {recipe.name}"
        )
    try:
        loaded = archive.read(path)
        digest = loaded.image_id.removeprefix("sha256:")
        rootfs = store.built_rootfs(recipe.directory, digest, lambda root: archive.extract(path, root))
    except (KdbgtestError, OSError, KeyError, ValueError) as exc:
        raise images.ImageUnavailable(f'failed to pull and unpack image "{ref}": {path}: {exc}') from exc
    c = loaded.config
    return images.Image(str(ref), loaded.image_id, rootfs, list(c.entrypoint), list(c.cmd), list(c.env),
                        c.workdir, c.user)  # fmt: skip
