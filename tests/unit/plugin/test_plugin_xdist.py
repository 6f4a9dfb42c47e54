"""pytest-xdist with the plugin installed: a session whose paths hold no scenario never acquires a cluster
(the controller decides when it starts its workers); the scenario runs themselves are in
tests/e2e/test_e2e_runner_sim.py."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_no_scenarios_no_cluster(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (it is in the dev extras)")
    pytester.makepyfile(test_plain="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    pytester.makeconftest(
        """
        import pytest
        from kdbgtest.pytest_plugin import session

        @pytest.hookimpl(tryfirst=True)
        def pytest_unconfigure(config):
            if not hasattr(config, "workerinput"):
                current = session.state(config)
                with open("controller.txt", "w") as out:
                    out.write(f"{current.cluster} {current.error} {current.lock}")
        """
    )
    missing = pytester.path / "no-such-kubeconfig"
    result = pytester.runpytest_subprocess(
        *plugin_args, "-n", "2", "--kdbgtest-cluster=kubeconfig", f"--kdbgtest-kubeconfig={missing}", "test_plain.py"
    )
    result.assert_outcomes(passed=2)
    assert (pytester.path / "controller.txt").read_text() == "None None None"
