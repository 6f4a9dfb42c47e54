"""Session-wide offline clusters for the whole-suite tests (test_scenario_suite, test_mutations): each is
started once, the suite runs on it once, and releasing it at the end of the session must find nothing
leaked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import suite_support as support

from kdbgtest.sim.node import cleanup


def _released(sim: support.SuiteSim) -> None:
    """Stop the cluster; anything its shutdown had to remove, or could not, fails the session."""
    state = sim.state_dir
    leftovers = sim.release()
    leaks = cleanup.leaks(state, removed=True)
    if leftovers or leaks:
        raise AssertionError(f"sim '{sim.info.name}' leaked: removed at shutdown {leftovers}; still there {leaks}")


@pytest.fixture(scope="session")
def suite_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.SuiteSim]:
    """The default offline cluster (as `kdbgtest run --cluster sim` starts it)."""
    with support.suite_sim(tmp_path_factory) as sim:
        yield sim
        _released(sim)


@pytest.fixture(scope="session")
def suite_run(suite_sim: support.SuiteSim, tmp_path_factory: pytest.TempPathFactory) -> support.SuiteRun:
    """Every scenario of `scenarios/`, run once on `suite_sim`, and what was left right after."""
    return support.run_and_inspect(suite_sim, support.load_suite(), tmp_path_factory.mktemp("suite"))


@pytest.fixture(scope="session")
def no_ephemeral_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.SuiteSim]:
    """A second offline cluster whose EphemeralContainers feature gate is off."""
    with support.suite_sim(tmp_path_factory, feature_gates={"EphemeralContainers": False}) as sim:
        yield sim
        _released(sim)


@pytest.fixture(scope="session")
def no_ephemeral_run(no_ephemeral_sim: support.SuiteSim, tmp_path_factory: pytest.TempPathFactory) -> support.SuiteRun:
    """The copy-mode fallback and every scenario that needs ephemeral containers, on `no_ephemeral_sim`."""
    chosen = [s for s in support.load_suite() if s.name == support.FALLBACK or support.needs_ephemeral(s)]
    return support.run_and_inspect(no_ephemeral_sim, chosen, tmp_path_factory.mktemp("suite-off"))
