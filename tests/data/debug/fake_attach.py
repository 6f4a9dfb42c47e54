"""A stand-in for `kubectl debug -it` attached to a shell, for Session tests (run in a pseudo-terminal).

It prints what kubectl prints before attaching, then, as kubectl does once it streams a TTY, switches its
terminal to raw mode (so the local terminal no longer echoes; the echo comes from the "container's" terminal,
played here) and behaves like a shell whose first prompt was lost: nothing until Enter is pressed, then a
coloured prompt. Commands: `echo WORDS`, `hostname`, `exit [N]`;
anything else is "not found". Options: `-q` (like kubectl: neither line), `--no-hint`, `--stubborn` (ignore
SIGTERM/SIGHUP/SIGINT and never exit on its own, to test that close() kills it), `--exit N` (exit with N at
once after the banner).
"""

import os
import signal
import sys
import termios
import tty

PROMPT = "\x1b[1;32m/ #\x1b[0m "


def main() -> int:
    args = sys.argv[1:]
    if "--stubborn" in args:  # before any output: a test closes the session as soon as it sees the hint
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
    quiet = "-q" in args
    if not quiet:
        print("Defaulting debug container name to debugger-x7k2p.", flush=True)
    if not quiet and "--no-hint" not in args:
        print(
            "All commands and output from this session will be recorded in container logs, including "
            "credentials and sensitive information passed through the command prompt.",
            file=sys.stderr,
        )
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    if "--exit" in args:
        return int(args[args.index("--exit") + 1])
    if "--stubborn" in args:
        while True:
            signal.pause()
    if os.isatty(0):
        tty.setraw(0, termios.TCSANOW)  # as Go's term.MakeRaw: what was typed before is kept
    if read_line() is None:  # the Enter that makes the prompt appear
        return 0
    return shell()


def write(text: str) -> None:
    """Output as a remote terminal sends it: raw mode does not turn \\n into \\r\\n here."""
    sys.stdout.write(text.replace("\n", "\r\n"))
    sys.stdout.flush()


def read_line() -> str | None:
    """A line as the container's terminal reads it: echoed, ended by Enter; None for Ctrl-D on an empty line."""
    line = ""
    while True:
        byte = os.read(0, 1)
        if not byte:
            return None
        char = byte.decode("utf-8", "replace")
        if char in "\r\n":
            write("\n")
            return line
        if char == "\x04":
            if not line:
                return None
            continue
        line += char
        write(char)


def shell() -> int:
    while True:
        write(PROMPT)
        line = read_line()
        if line is None:  # Ctrl-D
            return 0
        words = line.split()
        if not words:
            continue
        if words[0] == "exit":
            return int(words[1]) if len(words) > 1 else 0
        if words[0] == "echo":
            write(" ".join(words[1:]) + "\n")
        elif words[0] == "hostname":
            write("\x1b]0;title\x07app-7d9f8b-x2k4q\n")
        else:
            write(f"sh: {words[0]}: not found\n")


if __name__ == "__main__":
    sys.exit(main())
