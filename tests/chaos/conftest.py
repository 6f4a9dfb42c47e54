"""The chaos tier: kdbgtest attacked, as an attacker or a busy machine would. Every test here runs in the
normal `./dev tests` (marker `chaos`), bounded and seeded."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: tries to break kdbgtest as an attacker or a busy machine would")
