"""Waiting for kubectl's prompt hint while kubectl waits for its debug container, and stopping at once when
that container cannot start.

kubectl debug -it watches its container until it runs, printing `Warning: container C: MESSAGE` whenever the
container waits with a message, and otherwise waits out its own minute. Each new warning line makes the driver
look at the container's state (`look`, one `kubectl get`); an image that cannot be pulled or a refused
configuration (`stuck.NEVER_STARTS`) ends the step with the kubelet's reason instead of a timeout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from kdbgtest.base.errors import StepTimeout
from kdbgtest.debug import stuck
from kdbgtest.debug.session import Session

WARNING = re.compile(r"^Warning: container (?P<container>[a-z0-9][-a-z0-9.]*): ", re.MULTILINE)
SLICE = 1.0  # seconds of hint wait between looks at new warning lines

# container name -> why it cannot start (`pod P: container C: REASON: MESSAGE`), or None
Look = Callable[[str], str | None]


def wait_for_hint(term: Session, deadline: float, look: Look) -> bool:
    """`term.wait_for_hint` until the monotonic `deadline`; raises `stuck.CannotStart` as soon as `look` says a
    container named in a new warning line cannot start. True if the hint was answered, False if kubectl ended."""
    looked = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout("the step's timeout ran out before waiting for kubectl to attach")
        if left <= SLICE:
            return term.wait_for_hint(left)
        try:
            return term.wait_for_hint(SLICE)
        except StepTimeout:
            pass
        warned = [m.group("container") for m in WARNING.finditer(term.text)]
        for container in dict.fromkeys(warned[looked:]):
            why = look(container)
            if why is not None:
                raise stuck.CannotStart(f"{why}; kubectl would wait for it until its timeout")
        looked = len(warned)
