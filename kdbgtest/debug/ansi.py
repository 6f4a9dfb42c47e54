"""Turn what a terminal program printed into the plain text that assertions see.

Removed: CSI sequences (colours, cursor moves, erase, bracketed paste `ESC[?2004h`, `ESC[200~`), OSC (window
titles, hyperlinks; ended by BEL or ST), DCS/SOS/PM/APC strings, charset designations (`ESC ( B`), other
two-character escapes (`ESC =`, `ESC 7`) and C0/C1 control characters except newline and tab.
Line ends: `\\r\\n` (and `\\r\\r\\n`) become `\\n`; a lone `\\r` also becomes `\\n`, so text a program
redraws in place stays visible as separate lines. A backspace erases the character before it (busybox line
editing emits `\\b ESC[J`).

`Cleaner` does this incrementally for a stream read in chunks: a sequence split across two chunks is held
back until it is complete, and text once returned is never changed afterwards (so offsets into the cleaned
text stay valid). A backspace therefore only erases text of the same chunk; one at a chunk's start is dropped.
"""

from __future__ import annotations

import re

_ESC = "\x1b"
# Complete sequences. Both the 7-bit (ESC x) and the 8-bit (C1) introducers are recognised.
_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [\ -/]* [@-~]                    # CSI: parameters, intermediates, final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)   # OSC/DCS/SOS/PM/APC
    | \x1b [\ -/]+ [0-~]                                     # nF: charset designation ESC ( B, ESC # 8
    | \x1b [0-~]                                             # Fp/Fe/Fs: ESC =, ESC 7, ESC M, ESC c
    """,
    re.VERBOSE,
)
# A sequence that has started but not finished at the end of the text read so far.
_INCOMPLETE = re.compile(
    r"""
    (?: (?:\x1b\[|\x9b) [0-?]* [\ -/]*
      | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c]* \x1b?
      | \x1b [\ -/]*
    ) \Z
    """,
    re.VERBOSE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_LINE_END = re.compile(r"\r+\n|\r")
_BACKSPACE = re.compile(r"[^\n\x08]\x08")
# An unterminated OSC/DCS longer than this is given up on and passed through as text.
_MAX_PENDING = 4096


class Cleaner:
    """Incremental escape-sequence stripper; feed raw chunks, get clean text back."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, raw: str) -> str:
        """Clean `raw` (the next chunk of output); keeps back an unfinished sequence or a trailing `\\r`."""
        text = self._pending + raw
        cut = len(text)
        tail = _INCOMPLETE.search(text)
        if tail is not None and len(text) - tail.start() <= _MAX_PENDING:
            cut = tail.start()
        if cut > 0 and text[cut - 1] == "\r":  # wait: it may be the start of \r\n
            cut -= 1
        self._pending = text[cut:]
        return _clean(text[:cut])

    def flush(self) -> str:
        """Everything held back, cleaned (call at end of stream)."""
        text, self._pending = self._pending, ""
        return _clean(text)


def strip(text: str) -> str:
    """The whole of `text`, cleaned as described in the module docstring."""
    cleaner = Cleaner()
    return cleaner.feed(text) + cleaner.flush()


def _clean(text: str) -> str:
    text = _SEQUENCE.sub("", text)
    text = _LINE_END.sub("\n", text)
    while "\x08" in text:
        erased = _BACKSPACE.sub("", text)
        if erased == text:
            break
        text = erased
    return _CONTROL.sub("", text)
