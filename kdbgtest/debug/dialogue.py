"""Running a scenario's `session:` dialogue on a `Terminal` (kubectl's pexpect `Session`, or the API driver's stream).

Order of events for an interactive step:
1. If kubectl will print its prompt hint (it attaches with a TTY and is not `-q`), wait for it before the
   first item, bounded by the step's remaining time. The session presses Enter once when the hint appears,
   so the shell prints a fresh prompt; a first `send` then reaches a shell that is attached and reading. If
   kubectl ends instead (e.g. the container already terminated and kubectl printed its logs), the dialogue
   goes on and its first `expect` reports what was printed.
2. With a TTY, before the first `send` (or control key): wait until kubectl has switched its terminal to raw
   mode. Until then the terminal itself echoes what is typed (`kubectl exec -it` prints nothing to wait for),
   so a line typed too early shows twice and an `expect` could match the echo instead of the answer.
3. The items, in order. Each `expect`/`end` waits at most its own `timeout`, and never past the step's
   deadline. Regex named groups are collected as captures, and later items of the same dialogue may use them
   as `${name}` (the runner substitutes every variable known before the step; the rest is filled in here).
4. Without items the driver waits for the program to end (bounded by the step's time).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kdbgtest.base.errors import StepFailed, StepTimeout
from kdbgtest.debug.driver import CommandResult, Dialogue, SessionFailed, SessionTimeout
from kdbgtest.scenario import model


class Terminal(Protocol):
    """What a dialogue plays against: `kdbgtest.debug.session.Session` (kubectl in a pseudo-terminal) or
    `kdbgtest.debug.api_stream.StreamTerminal` (an attach/exec WebSocket of the API driver)."""

    @property
    def name(self) -> str: ...

    @property
    def transcript(self) -> Path: ...

    @property
    def text(self) -> str: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def ended_by_itself(self) -> bool: ...

    def close(self) -> None: ...

    def tail(self, lines: int = ...) -> str: ...

    def wait_for_hint(self, timeout: float) -> bool: ...

    def wait_for_raw_mode(self, timeout: float) -> bool: ...

    def send_line(self, line: str) -> None: ...

    def send_control(self, char: str) -> None: ...

    def expect_text(self, literal: str, timeout: float) -> str: ...

    def expect_regex(self, pattern: str, timeout: float) -> dict[str, str]: ...

    def expect_end(self, timeout: float) -> int: ...


@dataclass
class Outcome:
    """What a dialogue produced: named regex groups, and the exit code if it waited for the end."""

    captures: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None


def run(
    session: Terminal,
    items: Dialogue | None,
    outcome: Outcome,
    *,
    deadline: float,
    wait_for_hint: bool,
    tty: bool = False,
) -> None:
    """Play `items` against `session` before the monotonic `deadline`, recording into `outcome` as it goes
    (so captures made before a failure are kept); raise StepTimeout/StepFailed. With `tty`, the first key is
    typed only once kubectl has switched its terminal to raw mode (see the module docstring)."""
    if wait_for_hint:
        session.wait_for_hint(_remaining(deadline, "kubectl to attach"))
    typed = False
    for item in items if items is not None else [model.ExpectEnd(end=True)]:
        if tty and not typed and isinstance(item, model.SendLine | model.SendControl):
            session.wait_for_raw_mode(_remaining(deadline, "kubectl to switch its terminal to raw mode"))
            typed = True
        _play(session, item, deadline, outcome)


def play(
    term: Terminal,
    items: Dialogue | None,
    *,
    argv: list[str],
    started: float,
    deadline: float,
    captures: Mapping[str, str],
    wait_for_hint: bool,
    tty: bool = False,
    first: Callable[[], object] | None = None,
    scan: Callable[[str], Mapping[str, str]] | None = None,
) -> CommandResult:
    """An interactive step's result: call `first` (a wait of the driver's own), `run` the dialogue, close `term`.

    The exit code is the one the dialogue saw end, else the program's if it ended by itself, else None. The
    captures are `captures`, then what `scan` finds in the session's text, then the dialogue's own. A dialogue
    that did not go as written raises `SessionTimeout`/`SessionFailed` carrying the result.
    """
    outcome = Outcome()
    error: StepTimeout | StepFailed | None = None
    try:
        if first is not None:
            first()
        run(term, items, outcome, deadline=deadline, wait_for_hint=wait_for_hint, tty=tty)
    except (StepTimeout, StepFailed) as exc:
        error = exc
    finally:
        term.close()
    code = outcome.exit_code if outcome.exit_code is not None else (term.exit_code if term.ended_by_itself else None)
    result = CommandResult(
        argv=argv,
        exit_code=code,
        stdout=term.text,
        stderr="",
        output=term.text,
        transcript=term.transcript,
        captures={**captures, **(scan(term.text) if scan else {}), **outcome.captures},
        duration=time.monotonic() - started,
    )
    if error is not None:
        kind = SessionTimeout if isinstance(error, StepTimeout) else SessionFailed
        raise kind(f"{error} (transcript: {term.transcript})", result) from None
    return result


def _play(session: Terminal, item: model.DialogueItem, deadline: float, outcome: Outcome) -> None:
    if isinstance(item, model.SendLine):
        session.send_line(_fill(item.send, outcome.captures, regex=False))
    elif isinstance(item, model.SendControl):
        session.send_control(item.control)
    elif isinstance(item, model.ExpectText):
        timeout = min(item.timeout, _remaining(deadline, describe(item)))
        if item.expect is not None:
            session.expect_text(_fill(item.expect, outcome.captures, regex=False), timeout)
        elif item.regex is not None:
            pattern = _fill(item.regex, outcome.captures, regex=True)
            outcome.captures.update(session.expect_regex(pattern, timeout))
    else:
        timeout = min(item.timeout, _remaining(deadline, describe(item)))
        outcome.exit_code = session.expect_end(timeout)
        if item.exit_code is not None and outcome.exit_code != item.exit_code:
            raise StepFailed(
                f"{session.name} ended with exit code {outcome.exit_code}, expected {item.exit_code}; "
                f"the last lines seen:\n{session.tail()}"
            )


def _fill(text: str, captures: Mapping[str, str], *, regex: bool) -> str:
    """`text` with `${name}` replaced for names captured earlier in this dialogue (escaped in a regex)."""
    for name, value in captures.items():
        text = text.replace("${" + name + "}", re.escape(value) if regex else value)
    return text


def describe(item: model.DialogueItem) -> str:
    """A dialogue item in words, for messages."""
    if isinstance(item, model.SendLine):
        return f"typing {item.send!r}"
    if isinstance(item, model.SendControl):
        return f"pressing Ctrl-{item.control.upper()}"
    if isinstance(item, model.ExpectText):
        return f"the text {item.expect!r}" if item.expect is not None else f"the regex {item.regex!r}"
    return "the program to end"


def _remaining(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise StepTimeout(f"the step's timeout ran out before waiting for {what}")
    return left
