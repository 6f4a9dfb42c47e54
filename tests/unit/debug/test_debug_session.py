"""Session against real programs in a real pseudo-terminal: busybox sh and a kubectl-like script."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.base.errors import StepFailed, StepTimeout, ToolMissing
from kdbgtest.debug import dialogue
from kdbgtest.debug import session as session_mod
from kdbgtest.debug.session import Session
from kdbgtest.scenario.model import ExpectEnd, ExpectText, SendLine

FAKE = Path(__file__).parents[2] / "data" / "debug" / "fake_attach.py"
BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed (apt-get install busybox-static)")


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Session]:
    with Session([sys.executable, str(FAKE)], transcript=tmp_path / "t.txt") as s:
        yield s


def test_hint_is_answered_then_dialogue_runs(fake: Session, tmp_path: Path) -> None:
    assert fake.wait_for_hint(10) is True
    fake.expect_text("/ # ", 5)
    fake.send_line("echo hello there")
    # The terminal echoes typed input, so a literal would match the echo; a regex anchored to a line does not.
    fake.expect_text("echo hello there\n", 5)
    assert fake.expect_text("hello there", 5) == "hello there"
    fake.expect_text("/ # ", 5)
    fake.send_line("exit 7")
    assert fake.expect_end(5) == 7
    fake.close()
    raw = (tmp_path / "t.txt").read_bytes().decode()
    # The transcript is the raw terminal stream: escape sequences and \r\n kept ...
    assert "\x1b[1;32m/ #\x1b[0m " in raw and "hello there\r\n" in raw
    # ... while what assertions see is clean, in order, with the typed input echoed by the terminal.
    assert fake.text.endswith("/ # echo hello there\nhello there\n/ # exit 7\n")
    assert "Defaulting debug container name to debugger-x7k2p." in fake.text
    assert "\x1b" not in fake.text and "\r" not in fake.text


def test_regex_captures_named_groups(fake: Session) -> None:
    groups = fake.expect_regex(r"container name to (?P<debugger>debugger-\w{5})\.$", 10)
    assert groups == {"debugger": "debugger-x7k2p"}
    fake.expect_text("/ # ", 10)  # the hint was answered even though nobody called wait_for_hint
    fake.send_line("hostname")
    assert fake.expect_regex(r"^(?P<pod>app-[\w-]+)(?P<none>X)?$", 5) == {"pod": "app-7d9f8b-x2k4q"}


def test_expectations_consume_text_in_order(fake: Session) -> None:
    fake.expect_text("/ # ", 10)
    fake.send_line("echo one")
    fake.expect_text("one", 5)
    fake.send_line("echo two")
    fake.expect_text("two", 5)
    with pytest.raises(StepTimeout):  # "one" was consumed: it is not found again
        fake.expect_text("one", 0.3)


def test_timeout_names_what_was_awaited_and_the_last_20_lines(fake: Session) -> None:
    fake.expect_text("/ # ", 10)
    for i in range(30):
        fake.send_line(f"echo line-{i}")
        fake.expect_text(f"line-{i}\n", 5)
    started = time.monotonic()
    with pytest.raises(StepTimeout) as caught:
        fake.expect_regex(r"never (?P<x>\d+)", 0.5)
    assert 0.5 <= time.monotonic() - started < 3
    message = str(caught.value)
    assert message.startswith("timed out after 0.5s waiting for the regex 'never (?P<x>\\\\d+)'")
    assert "the last 20 lines seen:" in message
    assert "  | line-29\n  | / # " in message
    assert "  | line-20\n" in message and "line-19" not in message
    assert len(message.splitlines()) == 21


def test_program_ending_while_expecting_is_a_failure_with_its_exit_code(tmp_path: Path) -> None:
    with Session([sys.executable, str(FAKE), "--exit", "3"], transcript=tmp_path / "t.txt") as s:
        with pytest.raises(StepFailed) as caught:
            s.expect_text("/ # ", 10)
        assert s.exit_code == 3
        with pytest.raises(StepFailed, match=r"cannot type 'ls': python\S* already ended with exit code 3"):
            s.send_line("ls")
    message = str(caught.value)
    assert "ended with exit code 3 while waiting for the text '/ # '" in message
    assert "| If you don't see a command prompt, try pressing enter." in message


def test_no_hint_means_no_enter(tmp_path: Path) -> None:
    with Session([sys.executable, str(FAKE), "--no-hint"], transcript=tmp_path / "t.txt") as s:
        s.expect_text("debugger-x7k2p.", 10)
        with pytest.raises(StepTimeout):  # no prompt: nothing pressed Enter
            s.expect_text("/ # ", 0.5)
        assert not s.hint_pressed
        s.send_line("")
        s.expect_text("/ # ", 5)
        s.send_control("d")
        assert s.expect_end(5) == 0


def test_close_kills_a_program_that_ignores_sigterm(tmp_path: Path) -> None:
    s = Session([sys.executable, str(FAKE), "--stubborn"], transcript=tmp_path / "t.txt")
    s.expect_text("try pressing enter.", 10)
    pid = s.pid
    started = time.monotonic()
    s.close()
    assert time.monotonic() - started < session_mod._TERMINATE_GRACE + 3
    with pytest.raises(ProcessLookupError):  # gone and reaped, not a zombie
        os.kill(pid, 0)
    assert s.exit_code == 128 + 9


def test_missing_program_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match="cannot start /nonexistent/kubectl"):
        Session(["/nonexistent/kubectl"], transcript=tmp_path / "t.txt")


@needs_busybox
def test_real_busybox_shell(tmp_path: Path) -> None:
    assert BUSYBOX is not None
    env = {"PS1": "/ # ", "TERM": "xterm", "PATH": "/usr/bin:/bin", "ENV": ""}
    with Session([BUSYBOX, "sh", "-i"], transcript=tmp_path / "sh.txt", env=env) as s:
        s.expect_text("/ # ", 10)
        s.send_line("printf '\\033[31mred\\033[0m %s\\n' \"$((6*7))\"")
        assert s.expect_regex(r"^red (?P<answer>\d+)$", 5) == {"answer": "42"}
        # A child that dies of SIGINT whether it is still the `sh -c` or already `sleep` when Ctrl-C arrives.
        s.send_line("busybox sh -c 'echo started; exec sleep 100'")
        s.expect_regex("^started$", 5)
        s.send_control("c")  # interrupts the foreground job, back to the prompt
        s.expect_text("/ # ", 5)
        s.send_line("exit 3")
        assert s.expect_end(5) == 3
    raw = (tmp_path / "sh.txt").read_bytes().decode()
    assert "\x1b[31mred\x1b[0m 42" in raw and "\x1b[6n" in raw  # busybox's cursor query stays in the raw file
    assert "red 42\n" in s.text and "\x1b" not in s.text


def test_regex_match_at_the_end_of_output_waits_for_the_rest_of_the_line(tmp_path: Path) -> None:
    """`42` written as `4` then `2` a few milliseconds later: `^\\d+$` must not capture just `4`."""
    script = "import sys, time; sys.stdout.write('4'); sys.stdout.flush(); time.sleep(0.005); print('2')"
    with Session([sys.executable, "-c", script], transcript=tmp_path / "t.txt") as s:
        assert s.expect_regex(r"^(?P<n>\d+)$", 10) == {"n": "42"}


# A program that, like kubectl, reads its terminal in raw mode, but only after a while (kubectl connects first).
LATE_RAW = """
import sys, termios, time, tty
time.sleep(float(sys.argv[1]))
tty.setraw(0, termios.TCSANOW)  # as Go's term.MakeRaw: keep what was typed before
line = b""
while not line.endswith((b"\\r", b"\\n")):  # typed in cooked mode, Enter arrived as \\n
    line += sys.stdin.buffer.read(1)
sys.stdout.write("got " + line.decode().strip() + "\\r\\n")
sys.stdout.flush()
"""


@pytest.mark.parametrize("wait", [True, False])
def test_typing_waits_for_raw_mode_or_the_terminal_echoes_it(tmp_path: Path, wait: bool) -> None:
    """With `tty`, the dialogue types only once the program has switched its terminal to raw mode; typed earlier,
    the line is echoed by the terminal itself and shows twice (which is what the wait prevents)."""
    items = [SendLine(send="hello"), ExpectText(expect="got hello"), ExpectEnd(end=True)]
    with Session([sys.executable, "-c", LATE_RAW, "0.5"], transcript=tmp_path / "t.txt") as s:
        dialogue.run(s, items, dialogue.Outcome(), deadline=time.monotonic() + 20, wait_for_hint=False, tty=wait)
        assert s.text.count("hello") == (1 if wait else 2), s.text


def test_waiting_for_raw_mode_ends_with_the_program_or_times_out(tmp_path: Path) -> None:
    with Session([sys.executable, "-c", "print('bye')"], transcript=tmp_path / "a.txt") as s:
        assert s.wait_for_raw_mode(10) is False
    never_raw = [sys.executable, "-c", "import time; print('cooked'); time.sleep(30)"]
    expected = r"(?s)0\.5s waiting for python.* to switch its terminal to raw mode.*cooked"
    with Session(never_raw, transcript=tmp_path / "b.txt") as s, pytest.raises(StepTimeout, match=expected):
        s.wait_for_raw_mode(0.5)


def test_no_fixed_sleeps_when_typing_or_closing(tmp_path: Path) -> None:
    """pexpect sleeps 50 ms before every send and 100 ms after a close unless told not to: 20 lines typed and
    answered, then the close of an ended program, took over 1.1 s that way; without the sleeps a fraction."""
    started = time.monotonic()
    with Session(["cat"], transcript=tmp_path / "t.txt", press_enter_on_hint=False) as cat:
        for number in range(20):
            cat.send_line(f"line {number}")
            cat.expect_text(f"line {number}\n", 5)  # the echo
            cat.expect_text(f"line {number}\n", 5)  # cat's answer
        cat.send_control("d")
        assert cat.expect_end(5) == 0
    assert time.monotonic() - started < 0.9
