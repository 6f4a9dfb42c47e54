"""The local real cluster's tests need its binaries, built by `kdbgtest local build` (or `./dev local`).

Without them the tests are skipped with that reason, except where KDBGTEST_REQUIRE_LOCAL=1 (CI sets it after
building), where a missing build fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from local_support import cli, footprint

from kdbgtest.local import build, pins


def local_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the local cluster needs root"
    if not build.is_built(pins.load()):
        return f"the local cluster is not built (run `kdbgtest local build`; cache {build.cache_root()})"
    return None


@pytest.fixture(scope="session")
def local_built() -> None:
    reason = local_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("KDBGTEST_REQUIRE_LOCAL") == "1":
        pytest.fail(f"KDBGTEST_REQUIRE_LOCAL=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def clean_host(local_built: None) -> Iterator[dict[str, object]]:
    """The host's footprint before the test; after it, whatever the outcome, `down` and the same footprint."""
    if cli("status", check=False).returncode == 0:
        pytest.skip("a local cluster is already running here (the tests would disturb it); `kdbgtest local down`")
    before = footprint()
    try:
        yield before
    finally:
        cli("down", check=False)
    assert footprint() == before
