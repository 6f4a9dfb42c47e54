"""Loading scenario files: YAML with positions, then validation, into `LoadedScenario` objects.

A scenario file is a `.yaml`/`.yml` file whose (first) YAML document is a mapping with top-level `name` and
`steps`. Under a directory, other YAML files (manifests, `--custom` profiles, CI config) are skipped and listed in
`LoadResult.ignored`; a file that cannot be read or parsed is loaded, so its problem is reported. A file named
explicitly is always loaded: one that is not a scenario is an issue.

    result = loader.load_paths([Path("scenarios")])
    for issue in result.issues: print(issue)          # scenarios/x.yaml:12:5: unknown key 'imag' ...
    for loaded in result.scenarios: loaded.scenario, loaded.path, loaded.line

`load_file` raises `ScenarioIssues` (a `ScenarioError`) listing every problem of one file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import yaml

from kdbgtest.scenario import limits, positions
from kdbgtest.scenario.issues import ScenarioIssue, ScenarioIssues
from kdbgtest.scenario.positions import Mark

if TYPE_CHECKING:  # pydantic, slow to import: `check_file` imports the validation when it validates
    from kdbgtest.scenario import model

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedScenario:
    """A valid scenario together with where it came from, for reports that point at YAML lines."""

    path: Path
    scenario: model.Scenario
    positions: positions.Positions = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def line(self) -> int:
        """The line where the scenario starts (its first key)."""
        return self.positions.value(()).line

    @property
    def name_mark(self) -> Mark:
        """Where the scenario's `name` value is (for the issue about a second scenario of that name)."""
        return self.positions.value(("name",))

    def all_steps(self) -> list[model.Step]:
        """The steps followed by the `finally` steps, in run order."""
        return [*self.scenario.steps, *self.scenario.finally_]

    def step_loc(self, step: model.Step) -> tuple[str, int]:
        """The data path of `step`: `("steps", 2)` or `("finally", 0)`. The step must be this scenario's."""
        for key, steps in (("steps", self.scenario.steps), ("finally", self.scenario.finally_)):
            for index, candidate in enumerate(steps):
                if candidate is step:
                    return (key, index)
        raise ValueError(f"step {step.name!r} is not part of scenario {self.name!r}")

    def step_location(self, step: model.Step) -> tuple[int, int]:
        """(line, col) where `step` starts in the file."""
        mark = self.positions.value(self.step_loc(step))
        return mark.line, mark.col

    def step_line(self, index: int) -> int:
        """Line of the step at `index` in `all_steps()` (steps, then finally)."""
        return self.step_location(self.all_steps()[index])[0]

    def step_label(self, step: model.Step) -> str:
        """`step 3 'attach-debug'` or `finally step 1 'cleanup'` (1-based, as users count)."""
        key, index = self.step_loc(step)
        prefix = "finally step" if key == "finally" else "step"
        return f"{prefix} {index + 1} '{step.name}'"

    def where(self, step: model.Step | None = None) -> str:
        """`scenarios/x.yaml:42, step 3 'attach-debug'` (or just `scenarios/x.yaml:1` without a step)."""
        if step is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.step_location(step)[0]}, {self.step_label(step)}"


class LoadResult(NamedTuple):
    """Every valid scenario found, every issue found in the others, and the YAML files that are not scenarios
    (found under a directory, skipped)."""

    scenarios: list[LoadedScenario]
    issues: list[ScenarioIssue]
    ignored: tuple[Path, ...] = ()


class Named(Protocol):
    """What `gather` needs of the result of a valid file: its scenario's name, and where that is."""

    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def name_mark(self) -> Mark: ...


T = TypeVar("T", bound=Named)
T_co = TypeVar("T_co", bound=Named, covariant=True)


class Judge(Protocol[T_co]):
    """How `gather` judges a file: whether it is a scenario file (`looks_like_scenario`, asked of files found
    under a directory), and its result with its issues (`check_file`)."""

    def looks(self, file: Path) -> bool | None: ...
    def check(self, file: Path) -> tuple[T_co | None, list[ScenarioIssue]]: ...


Gathered = tuple[list[T], list[ScenarioIssue], tuple[Path, ...]]


@dataclass(frozen=True)
class _Source:
    """A file read, decoded and parsed by libyaml once, for discovery and for the load that follows."""

    text: str | None  # None when `issue` says why the file cannot be parsed at all
    issue: ScenarioIssue | None = None
    parsed: positions.Parsed | None = None  # None: libyaml did not parse it (see `positions.parse_fast`)
    printable: bool = True


def _read(path: Path) -> _Source:
    try:
        data = limits.read(path)
    except OSError as exc:
        return _Source(None, ScenarioIssue(path, 0, 0, f"cannot read the file: {exc.strerror or exc}"))
    text, breach = limits.decode(data)
    if breach is not None:
        return _Source(None, ScenarioIssue(path, breach.line, breach.col, breach.message))
    if limits.unprintable(text) is not None:
        return _Source(text, printable=False)
    return _Source(text, parsed=positions.parse_fast(text))


def _check(path: Path, source: _Source) -> tuple[LoadedScenario | None, list[ScenarioIssue]]:
    from kdbgtest.scenario import validate

    if source.text is None:
        return None, [source.issue] if source.issue is not None else []
    parsed = positions.parse(source.text) if source.parsed is None else source.parsed
    issues = [ScenarioIssue(path, p.mark.line, p.mark.col, p.message) for p in parsed.problems]
    if parsed.data is None and not parsed.problems:
        return None, [ScenarioIssue(path, 1, 1, "the file is empty; a scenario needs 'name' and 'steps'")]
    if issues and parsed.data is None:
        return None, issues
    scenario, found = validate.validate(parsed.data, parsed.positions, path)
    issues.extend(found)
    if scenario is None or issues:
        return None, sorted(issues)
    return LoadedScenario(path, scenario, parsed.positions), []


def _looks(source: _Source) -> bool | None:
    if source.text is None or not source.printable:
        return None
    if source.parsed is not None:
        first = source.parsed.data
    else:  # not one document libyaml can parse (e.g. a manifest of several): judge by the first document
        try:
            first = positions.first_document(source.text)
        except (yaml.YAMLError, *positions.CONVERSION_ERRORS):
            return None
    return None if first is None else is_scenario(first)


def check_file(path: Path) -> tuple[LoadedScenario | None, list[ScenarioIssue]]:
    """Load and validate one file; the scenario is None when there is any issue."""
    return _check(path, _read(path))


def judge_file(path: Path, *, check: bool = True) -> tuple[bool | None, LoadedScenario | None, list[ScenarioIssue]]:
    """`looks_like_scenario` and `check_file` from one read and one parse (without `check`, the file is checked
    only if it looks like a scenario: (False, None, []) otherwise)."""
    source = _read(path)
    looks = _looks(source)
    if looks is False and not check:
        return looks, None, []
    return (looks, *_check(path, source))


def load_file(path: Path) -> LoadedScenario:
    """The valid scenario in `path`, or `ScenarioIssues` listing every problem in it."""
    loaded, issues = check_file(path)
    if loaded is None:
        raise ScenarioIssues(issues)
    return loaded


class _Loading:
    """The `Judge` of `load_paths`: discovery keeps each file's parsed document for the load that follows."""

    def __init__(self) -> None:
        self._read: dict[Path, _Source] = {}

    def looks(self, file: Path) -> bool | None:
        source = self._read[file] = _read(file)
        return _looks(source)

    def check(self, file: Path) -> tuple[LoadedScenario | None, list[ScenarioIssue]]:
        source = self._read.pop(file, None)
        return _check(file, _read(file) if source is None else source)


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Load every file named, and every scenario file found (recursively, `*.yaml`/`*.yml`) under a directory."""
    return LoadResult(*gather(paths, _Loading()))


def gather(paths: Iterable[Path], judge: Judge[T]) -> Gathered[T]:
    """`load_paths` with another way to judge each file (`cache` keeps the results of `_Loading`'s)."""
    found: list[T] = []
    issues: list[ScenarioIssue] = []
    ignored: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        files, skipped, missing = _discover(path, judge.looks)
        issues.extend(missing)
        ignored.extend(skipped)
        for file in files:
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            result, more = judge.check(file)
            issues.extend(more)
            if result is not None:
                found.append(result)
    unique, clashes = _unique_names(found)
    return unique, issues + clashes, tuple(ignored)


def discover(paths: Iterable[Path]) -> list[Path]:
    """The scenario files `load_paths` would load (for `kdbgtest list` and pytest collection)."""
    found = [file for path in paths for file in _discover(path, looks_like_scenario)[0]]
    return list({file.resolve(): file for file in reversed(found)}.values())[::-1]


def _discover(path: Path, looks: Callable[[Path], bool | None]) -> tuple[list[Path], list[Path], list[ScenarioIssue]]:
    """(files to load, YAML files skipped as not scenarios, issues)."""
    if path.is_file():
        return [path], [], []
    if not path.is_dir():
        return [], [], [ScenarioIssue(path, 0, 0, "no such file or directory")]
    files: list[Path] = []
    skipped: list[Path] = []
    for file in _walk(path):
        (skipped if looks(file) is False else files).append(file)
    if not files:
        message = "no scenario files in this directory (*.yaml, *.yml with top-level 'name' and 'steps')"
        return [], skipped, [ScenarioIssue(path, 0, 0, message)]
    return files, skipped, []


def _walk(root: Path) -> Iterator[Path]:
    for file in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in file.relative_to(root).parts)
        if file.suffix in SUFFIXES and file.is_file() and not hidden:
            yield file


def is_scenario(first: Any) -> bool:
    """What a scenario file is: its first YAML document is a mapping with top-level `name` and `steps`."""
    return isinstance(first, dict) and "name" in first and "steps" in first


def looks_like_scenario(file: Path) -> bool | None:
    """Whether `file` is a scenario file (`is_scenario`); None when it cannot be read, decoded or parsed within
    the limits, or is empty, so that loading it reports why."""
    return _looks(_read(file))


def _unique_names(found: list[T]) -> tuple[list[T], list[ScenarioIssue]]:
    """Scenario names become namespace names and test ids: a second scenario with a taken name is an issue."""
    first: dict[str, T] = {}
    issues = []
    for loaded in found:
        seen = first.setdefault(loaded.name, loaded)
        if seen is not loaded:
            mark = loaded.name_mark
            issues.append(
                ScenarioIssue(
                    loaded.path,
                    mark.line,
                    mark.col,
                    f"scenario name '{loaded.name}' is already used by {seen.path}:{seen.line}; "
                    "scenario names must be unique",
                )
            )
    return list(first.values()), issues
