"""Fixtures: a running API server with fake nodes, per test module."""

from __future__ import annotations

from collections.abc import Iterator

import api_harness
import pytest

from kdbgtest.sim.config import SimConfig


@pytest.fixture(scope="module")
def api(test_tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[api_harness.ApiServer]:  # type: ignore[no-untyped-def]
    server = api_harness.ApiServer(SimConfig(name="t", nodes=2), test_tls, tmp_path_factory.mktemp("api"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
