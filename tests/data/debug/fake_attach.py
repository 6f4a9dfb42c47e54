"""A stand-in for `kubectl debug -it` attached to a shell, for Session tests (run in a pseudo-terminal).

It prints what kubectl prints before attaching, then behaves like a shell whose first prompt was lost:
nothing until Enter is pressed, then a coloured prompt. Commands: `echo WORDS`, `hostname`, `exit [N]`;
anything else is "not found". Options: `-q` (like kubectl: neither line), `--no-hint`, `--stubborn` (ignore
SIGTERM/SIGHUP/SIGINT and never exit on its own, to test that close() kills it), `--exit N` (exit with N at
once after the banner).
"""

import signal
import sys

PROMPT = "\x1b[1;32m/ #\x1b[0m "


def main() -> int:
    args = sys.argv[1:]
    quiet = "-q" in args
    if not quiet:
        print("Defaulting debug container name to debugger-x7k2p.", flush=True)
    if not quiet and "--no-hint" not in args:
        print("All commands and output from this session will be recorded in container logs, including "
              "credentials and sensitive information passed through the command prompt.", file=sys.stderr)
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    if "--exit" in args:
        return int(args[args.index("--exit") + 1])
    if "--stubborn" in args:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            signal.pause()
    sys.stdin.readline()  # the Enter that makes the prompt appear
    return shell()


def shell() -> int:
    while True:
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:  # Ctrl-D
            return 0
        words = line.split()
        if not words:
            continue
        if words[0] == "exit":
            return int(words[1]) if len(words) > 1 else 0
        if words[0] == "echo":
            print(" ".join(words[1:]))
        elif words[0] == "hostname":
            print("\x1b]0;title\x07app-7d9f8b-x2k4q")
        else:
            print(f"sh: {words[0]}: not found")


if __name__ == "__main__":
    sys.exit(main())
