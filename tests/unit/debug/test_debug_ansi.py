"""Escape-sequence stripping, with sequences recorded from busybox sh and kubectl in a pseudo-terminal."""

from __future__ import annotations

import pytest

from kdbgtest.debug import ansi

# Recorded from `busybox sh -i` (v1.35.0) in a pexpect pty: the cursor-position request busybox sends before
# every prompt, a coloured printf, and line editing with two backspaces (`abc`, BS, BS, `x`).
BUSYBOX = (
    "\r\n\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)\r\n"
    "/ # \x1b[6necho hi\r\nhi\r\n"
    "/ # \x1b[6nprintf x\r\n\x1b[31mred\x1b[0m\r\n"
    "/ # \x1b[6nabc\x08\x1b[J\x08\x1b[Jx\r\nsh: ax: not found\r\n"
    "/ # \x1b[6n^C\r\n/ # \x1b[6nexit 3\r\n"
)
BUSYBOX_CLEAN = (
    "\n\nBusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)\n"
    "/ # echo hi\nhi\n/ # printf x\nred\n/ # ax\nsh: ax: not found\n/ # ^C\n/ # exit 3\n"
)


def test_busybox_session_is_cleaned() -> None:
    assert ansi.strip(BUSYBOX) == BUSYBOX_CLEAN


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b]0;root@pod: /\x07/ # ", "/ # "),  # OSC window title ended by BEL (bash PS1)
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink ended by ST
        ("\x1b[?2004h/ # ls\r\n\x1b[?2004l\rbin\r\n", "/ # ls\n\nbin\n"),  # bracketed paste on/off (bash)
        ("\x1b[200~pasted\x1b[201~", "pasted"),
        ("\x1b(B\x1b)0\x1b[m\x1b=\x1b>plain", "plain"),  # charset designation, keypad modes
        ("\x1b7saved\x1b8\x1bM", "saved"),
        ("a\r\r\nb\rc", "a\nb\nc"),  # \r\r\n is one line end; a lone \r becomes one too
        ("bell\x07 nul\x00 del\x7f tab\tok", "bell nul del tab\tok"),
        ("\x9b31mC1 CSI\x9b0m", "C1 CSI"),
        ("\x1bP1$r0m\x1b\\dcs gone", "dcs gone"),
    ],
)
def test_sequences(raw: str, clean: str) -> None:
    assert ansi.strip(raw) == clean


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_chunked_feed_matches_whole_text_except_cross_chunk_backspace(size: int) -> None:
    text = BUSYBOX.replace("abc\x08\x1b[J\x08\x1b[Jx", "ax") + "\x1b]0;t\x07end\r"
    cleaner = ansi.Cleaner()
    pieces = [cleaner.feed(text[i : i + size]) for i in range(0, len(text), size)]
    assert "".join(pieces) + cleaner.flush() == ansi.strip(text)
    assert "\x1b" not in "".join(pieces)


def test_split_crlf_is_held_back_not_doubled() -> None:
    cleaner = ansi.Cleaner()
    assert cleaner.feed("line\r") == "line"
    assert cleaner.feed("\nnext") == "\nnext"


def test_unterminated_osc_is_given_up_eventually() -> None:
    cleaner = ansi.Cleaner()
    assert cleaner.feed("\x1b]0;never ended") == ""
    assert cleaner.feed("x" * 5000).endswith("x" * 100)
