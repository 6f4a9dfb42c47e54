"""What `kdbgtest list` and `validate` learnt about each scenario file, kept so that the next run needs neither
pydantic nor a YAML parse (as mypy and ruff keep theirs).

One JSON entry per file under `$XDG_CACHE_HOME/kdbgtest/scenarios/<code>/` (default `~/.cache/...`; mode 0700;
not used when another user owns it), where `<code>` stands for the code that judges files (`fingerprint`): each
code change starts a new directory, and one that no run has used for `UNUSED_DAYS` is removed when a new one is
made. An entry is named by the sha256 of that code, the file's path as given and resolved (messages name it,
`${scenario_dir}` is resolved) and the file's bytes. An entry holds whether the file is a scenario file, the
summary of its valid scenario or its issues, and the `apply: {file: ...}` files validation looked for: it holds
only while each is still there (or still missing). A missing, corrupt or unreadable entry is judged again and
rewritten (atomically); the cache never causes an error. Only `list` and `validate` read it: `run` always
validates (`loader.load_paths`). `KDBGTEST_NO_CACHE=1` (or `--no-cache`) bypasses it.

    result = cache.load_paths([Path("scenarios")])   # Summaries(scenarios=[Summary, ...], issues, ignored)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from kdbgtest.scenario import limits, loader
from kdbgtest.scenario.issues import ScenarioIssue
from kdbgtest.scenario.positions import Mark

# Besides kdbgtest's own files, what decides whether a file is valid (their files change when they are upgraded).
JUDGES = ("pydantic", "pydantic_core", "yaml", "jmespath")
UNUSED_DAYS = 7  # a code version's entries unused this long go when another version's directory is made


@dataclass(frozen=True)
class Summary:
    """What `list` shows of a valid scenario."""

    path: Path
    name: str
    line: int
    name_mark: Mark
    modes: tuple[str, ...]  # sorted
    tags: tuple[str, ...]

    @classmethod
    def of(cls, loaded: loader.LoadedScenario) -> Summary:
        scenario = loaded.scenario
        return cls(loaded.path, loaded.name, loaded.line, loaded.name_mark, tuple(sorted(scenario.modes)),
                   tuple(scenario.tags))  # fmt: skip


class Summaries(NamedTuple):
    """`loader.LoadResult` with summaries for scenarios."""

    scenarios: list[Summary]
    issues: list[ScenarioIssue]
    ignored: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _Entry:
    looks: bool | None  # `loader.looks_like_scenario`
    checked: bool  # False: not a scenario file, not checked (`summary` and `issues` unknown)
    summary: Summary | None
    issues: list[ScenarioIssue]
    looked_for: list[tuple[str, bool]]  # (file, whether it was there)


def load_paths(paths: Iterable[Path], *, use_cache: bool = True) -> Summaries:
    """`loader.load_paths` as summaries, from the cache where it holds."""
    return Summaries(*loader.gather(paths, _Cached(directory() if use_cache else None)))


def directory() -> Path | None:
    """The cache directory, made if need be; None when `KDBGTEST_NO_CACHE` is set or it cannot be used."""
    if os.environ.get("KDBGTEST_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        folder = (Path(base) if Path(base).is_absolute() else Path.home() / ".cache") / "kdbgtest" / "scenarios"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None  # a symlink, or another user's: what it says cannot be trusted
        if stat.S_IMODE(info.st_mode) != 0o700:
            folder.chmod(0o700)
        return _for_this_code(folder)
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return None


def _for_this_code(folder: Path) -> Path:
    """This code's directory of entries, marked as used now; making it removes the unused ones of other code
    (and entries of the earlier flat layout)."""
    here = folder / fingerprint()[:32]
    if here.is_dir():
        os.utime(here)
        return here
    here.mkdir(mode=0o700)
    import shutil
    import time

    unused_since = time.time() - UNUSED_DAYS * 86400
    for other in folder.iterdir():
        if other.is_symlink() or other.is_file():
            other.unlink(missing_ok=True)
        elif other != here and other.stat().st_mtime < unused_since:
            shutil.rmtree(other, ignore_errors=True)
    return here


@functools.cache
def fingerprint() -> str:
    """The code that judges scenario files: the path, size and mtime of every file of the kdbgtest package and
    of `JUDGES`, and the Python version. Any change to them makes every entry stale."""
    import importlib.util

    digest = hashlib.sha256(sys.version.encode())
    files: list[Path] = []
    for root, dirs, names in os.walk(Path(__file__).resolve().parents[1]):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files.extend(Path(root, name) for name in sorted(names))
    for name in JUDGES:
        spec = importlib.util.find_spec(name)
        files.append(Path(spec.origin if spec is not None and spec.origin else name))
    for file in files:
        try:
            info = file.stat()
            digest.update(f"{file}\0{info.st_size}\0{info.st_mtime_ns}\n".encode(errors="surrogateescape"))
        except OSError:
            digest.update(f"{file}\0missing\n".encode(errors="surrogateescape"))
    return digest.hexdigest()


class _Cached:
    """The `loader.Judge` of `load_paths`: each file's entry read (or judged and written) once."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.entries: dict[Path, _Entry] = {}

    def looks(self, file: Path) -> bool | None:
        return self._entry(file, check=False).looks

    def check(self, file: Path) -> tuple[Summary | None, list[ScenarioIssue]]:
        entry = self._entry(file, check=True)
        return entry.summary, entry.issues

    def _entry(self, file: Path, *, check: bool) -> _Entry:
        entry = self.entries.get(file)
        if entry is not None and (entry.checked or not check):
            return entry
        key = _key(file) if self.folder is not None else None
        target = self.folder / f"{key}.json" if self.folder is not None and key is not None else None
        entry = _read(target, file) if target is not None else None
        if entry is None or (check and not entry.checked):
            entry = _judge(file, check=check)
            if target is not None and _key(file) == key:  # not changed while it was judged
                _write(target, entry)
        self.entries[file] = entry
        return entry


def _key(file: Path) -> str | None:
    try:
        data = limits.read(file)
        where = os.fsencode(file) + b"\0" + os.fsencode(file.resolve()) + b"\0"
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return hashlib.sha256(fingerprint().encode() + b"\0" + where + data).hexdigest()


def _judge(file: Path, *, check: bool) -> _Entry:
    from kdbgtest.scenario import rules  # the validation: pydantic

    looked: list[tuple[str, bool]] = []
    token = rules.LOOKED_FOR.set(looked)
    try:
        looks, loaded, issues = loader.judge_file(file, check=check)
    finally:
        rules.LOOKED_FOR.reset(token)
    summary = Summary.of(loaded) if loaded is not None else None
    return _Entry(looks, check or looks is not False, summary, issues, looked)


def _read(target: Path, file: Path) -> _Entry | None:
    """The entry in `target`, for `file`; None when there is none, it cannot be read, or no longer holds."""
    try:
        entry = _from_json(json.loads(target.read_bytes()), file)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if any(Path(name).is_file() != there for name, there in entry.looked_for):
        return None
    return entry


def _write(target: Path, entry: _Entry) -> None:
    import tempfile

    summary = entry.summary
    data = {
        "looks": entry.looks,
        "checked": entry.checked,
        "summary": None
        if summary is None
        else [summary.name, summary.line, summary.name_mark.line, summary.name_mark.col, summary.modes, summary.tags],
        "issues": [[issue.line, issue.col, issue.message] for issue in entry.issues],
        "looked_for": entry.looked_for,
    }
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(data, stream)
        Path(temp).replace(target)
    except OSError:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _from_json(data: Any, file: Path) -> _Entry:
    """Raises TypeError, KeyError or ValueError for anything but what `_write` wrote."""
    keys = ("looks", "checked", "summary", "issues", "looked_for")
    looks, checked, summary, issues, looked_for = (data[key] for key in keys)
    if not (looks is None or isinstance(looks, bool)) or not isinstance(checked, bool):
        raise TypeError("looks, checked")
    found = None
    if summary is not None:
        name, line, name_line, name_col, modes, tags = summary
        found = Summary(file, _str(name), _int(line), Mark(_int(name_line), _int(name_col)),
                        tuple(_str(m) for m in modes), tuple(_str(t) for t in tags))  # fmt: skip
    listed = [ScenarioIssue(file, _int(line), _int(col), _str(message)) for line, col, message in issues]
    return _Entry(looks, checked, found, listed, [(_str(name), _bool(there)) for name, there in looked_for])


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not a boolean: {value!r}")
    return value
