"""`kdbgtest images build NAME`: a recipe's root filesystem from its pins, exported as a docker-save archive
under the cache (`archives_dir()`), with a listing of everything installed beside it (NAME.txt)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kdbgtest.base import process, shipped
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.imagebuild import archive, debian, extras, pins, recipes

ARCHIVES_ENV = "KDBGTEST_IMAGE_ARCHIVES"
PASSWD_FALLBACK = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
Say = Callable[[str], None]


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kdbgtest"


def archives_dir() -> Path:
    """Where built archives are (KDBGTEST_IMAGE_ARCHIVES, default ~/.cache/kdbgtest/image-build/archives)."""
    override = os.environ.get(ARCHIVES_ENV)
    return Path(override) if override else cache_dir() / "image-build" / "archives"


def archive_path(recipe: recipes.Recipe) -> Path:
    return archives_dir() / recipe.file_name


def pins_path(recipe: recipes.Recipe) -> Path:
    return shipped.path("images") / recipe.directory / "pins.txt"


def inputs_digest(recipe: recipes.Recipe) -> str:
    """What the archive is made from: the recipe, its image directory (pins, Go sources) and this builder."""
    sha = hashlib.sha256(repr(recipe).encode())
    sources = sorted((shipped.path("images") / recipe.directory).iterdir())
    sources += sorted(Path(__file__).resolve().parent.glob("*.py"))
    for path in sources:
        if path.is_file():
            sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


def missing() -> list[str]:
    """The images (by `kdbgtest images build` name) whose archive is not built on this host."""
    return [r.name for r in recipes.RECIPES.values() if not archive_path(r).is_file()]


def up_to_date(recipe: recipes.Recipe) -> bool:
    """The archive exists and was built from the current inputs."""
    stamp = archive_path(recipe).with_suffix(".inputs")
    return archive_path(recipe).is_file() and stamp.is_file() and stamp.read_text().strip() == inputs_digest(recipe)


def build(recipe: recipes.Recipe, *, repin: bool = False, say: Say = print) -> Path:
    """Build `recipe` into its archive; with `repin`, first rewrite its pins file to apt's current choice."""
    started = time.monotonic()
    work_cache = cache_dir() / "image-build"
    pinned = pins.load(pins_path(recipe))
    apt = debian.Apt(work_cache / "apt")
    packages: list[debian.Package] = []
    if pinned.requested:
        say(f"{recipe.name}: apt-get update (Debian {debian.SUITE})")
        apt.update()
        packages = apt.resolve(pinned.requested if repin else pinned.debs())
    resolved = {p.name: p.version for p in packages}
    if repin:
        pins.rewrite(pinned, resolved)
        say(f"{recipe.name}: wrote {len(resolved)} pins to {pinned.path}")
        pinned = pins.load(pinned.path)
    _check_closure(pinned, resolved)
    say(f"{recipe.name}: downloading {len(packages)} Debian packages (cached in {apt.debs})")
    debs = apt.download(packages)
    (work_cache / "work").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{recipe.name}-", dir=work_cache / "work") as work:
        root = Path(work) / "rootfs"
        root.mkdir()
        debian.merged_usr(root)
        for deb in debs:
            debian.unpack(deb, root)
        listing = [f"deb {p.name}={p.version}" for p in packages]
        listing += _extras(recipe, pinned, root, work_cache, say)
        _finish(root, recipe, listing)
        target = archive_path(recipe)
        image_id = archive.write(root, target, recipe.repo_tag, recipe.config)
    target.with_suffix(".txt").write_text("\n".join(listing) + "\n")
    target.with_suffix(".inputs").write_text(inputs_digest(recipe) + "\n")
    for line in listing:
        say(f"  {line}")
    size = target.stat().st_size / 1e6
    say(f"{recipe.name}: {recipe.repo_tag} {image_id[:19]} -> {target} ({size:.0f} MB, "
        f"{time.monotonic() - started:.0f}s)")  # fmt: skip
    return target


def _check_closure(pinned: pins.Pins, resolved: dict[str, str]) -> None:
    """apt's choice must be exactly the pins: nothing unpinned, nothing pinned left unused."""
    wanted = pinned.debs()
    unpinned = sorted(f"{n}={v}" for n, v in resolved.items() if wanted.get(n) != v)
    unused = sorted(n for n in wanted if n not in resolved)
    if unpinned or unused:
        raise KdbgtestError(
            f"{pinned.path}: the pins are not a closed set (apt also wants: {', '.join(unpinned) or 'nothing'}; "
            f"unused: {', '.join(unused) or 'none'}); fix the file or run `kdbgtest images build --repin`"
        )


def _extras(recipe: recipes.Recipe, pinned: pins.Pins, root: Path, cache: Path, say: Say) -> list[str]:
    listing = []
    for module in pinned.go:
        say(f"{recipe.name}: go install {module}")
        binary = extras.go_install(module, root, cache)
        listing.append(f"go {module} -> /{binary.relative_to(root)}")
    if recipe.go_app:
        source = shipped.path("images") / recipe.directory
        say(f"{recipe.name}: go build {source} -> /{recipe.go_app}")
        extras.go_build(source, root / recipe.go_app, cache)
        listing.append(f"go-build images/{recipe.directory} -> /{recipe.go_app}")
    for wheel in pinned.wheels:
        say(f"{recipe.name}: pypi {wheel.name}=={wheel.version}")
        scripts = extras.wheel(wheel, root, cache)
        listing.append(f"pypi {wheel.name}=={wheel.version} -> {', '.join(scripts)}")
    if pinned.go or recipe.go_app:
        version = process.run([str(extras.go_binary()), "version"], timeout=30).stdout.strip()
        listing.append(f"built with {version}")
    return listing


def _finish(root: Path, recipe: recipes.Recipe, listing: list[str]) -> None:
    """What maintainer scripts would have done that the image needs."""
    share = root / "usr" / "share"
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    for name in ("passwd", "group"):
        master = share / "base-passwd" / f"{name}.master"
        if master.is_file():
            shutil.copyfile(master, etc / name)
    if not (etc / "passwd").exists():
        (etc / "passwd").write_text(PASSWD_FALLBACK)
        (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    _system_users(etc, recipe.users)
    nsswitch = share / "base-files" / "nsswitch.conf"
    if nsswitch.is_file() and not (etc / "nsswitch.conf").exists():
        shutil.copyfile(nsswitch, etc / "nsswitch.conf")
    for path, target in recipe.links.items():
        link = root / path
        if not link.exists() and not link.is_symlink():
            link.symlink_to(target)
        if not link.exists():
            raise KdbgtestError(f"{recipe.name}: the link /{path} -> {target} dangles; fix recipes.py")
    _ca_bundle(root)
    if (share / "zoneinfo" / "Etc" / "UTC").exists():
        (etc / "localtime").unlink(missing_ok=True)
        (etc / "localtime").symlink_to("/usr/share/zoneinfo/Etc/UTC")
        (etc / "timezone").write_text("Etc/UTC\n")
    for name, mode in (("tmp", 0o1777), ("var/tmp", 0o1777), ("root", 0o700), ("proc", 0o755), ("sys", 0o755),
                       ("dev", 0o755), ("run", 0o755)):  # fmt: skip
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name).chmod(mode)
    for name in ("hosts", "hostname", "resolv.conf"):
        (etc / name).touch()
    (etc / "kdbgtest-image-versions").write_text("\n".join(listing) + "\n")
    if os.geteuid() == 0 and shutil.which("ldconfig"):
        process.run(["ldconfig", "-r", str(root)], timeout=120, check=False)  # the loader cache, as libc-bin's
    for each in [root, *root.rglob("*")]:
        os.utime(each, (0, 0), follow_symlinks=False)


def _system_users(etc: Path, names: tuple[str, ...]) -> None:
    """Add each user with a group of its name and the first free id from 100, as `adduser --system` does."""
    passwd, group = (etc / "passwd").read_text(), (etc / "group").read_text()
    used = {int(line.split(":")[2]) for line in (passwd + group).splitlines() if line.count(":") >= 3}
    for name in names:
        uid = next(n for n in range(100, 1000) if n not in used)
        used.add(uid)
        passwd += f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
        group += f"{name}:x:{uid}:\n"
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)


def _ca_bundle(root: Path) -> None:
    """/etc/ssl/certs/ca-certificates.crt from the certificates ca-certificates ships (update-ca-certificates)."""
    certs = sorted((root / "usr" / "share" / "ca-certificates").rglob("*.crt"))
    if certs:
        bundle = root / "etc" / "ssl" / "certs" / "ca-certificates.crt"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_bytes(b"".join(cert.read_bytes() for cert in certs))
