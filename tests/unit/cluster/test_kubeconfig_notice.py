"""The KUBECONFIG notice (`select.kubeconfig_notice`) and what `kdbgtest run --help` says about KUBECONFIG.
tests/e2e/test_kubeconfig_env.py runs both cases for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest import cli
from kdbgtest.cluster import base, select

pytest_plugins = ["pytester"]


def test_help_says_what_happens_to_the_kubeconfig_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "auto never uses the KUBECONFIG variable alone (it says so when that is set)" in text
    assert "--cluster kubeconfig without --kubeconfig runs on KUBECONFIG's cluster" in text


@pytest.mark.parametrize(
    ("request_", "value", "expected"),
    [
        (base.ClusterRequest(), "", None),
        (base.ClusterRequest(kind="sim"), "/k", None),  # asked for explicitly: nothing to explain
        (base.ClusterRequest(kubeconfig=Path("/x")), "/k", None),
        (base.ClusterRequest(), "/k", "kdbgtest: KUBECONFIG is set (/k) but not used"),
        (base.ClusterRequest(context="c"), "/k", "kdbgtest: using the kubeconfig from KUBECONFIG: /k"),
        (
            base.ClusterRequest(kind="kubeconfig"),
            "/a:/b",
            "kdbgtest: using the kubeconfig from KUBECONFIG (its first entry; other files are not merged): /a",
        ),
    ],
)
def test_notice_cases(request_: base.ClusterRequest, value: str, expected: str | None) -> None:
    notice = select.kubeconfig_notice(request_, {"KUBECONFIG": value})
    assert notice == expected if expected is None else (notice or "").startswith(expected)


def test_pytest_sessions_print_the_notice_in_their_header(
    pytester: pytest.Pytester, plugin_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/somewhere/config")
    result = pytester.runpytest_subprocess(*plugin_args, "--collect-only", "--kdbgtest-cluster", "kubeconfig")
    result.stdout.fnmatch_lines(["kdbgtest: using the kubeconfig from KUBECONFIG: /somewhere/config"])
    auto = pytester.runpytest_subprocess(*plugin_args, "--collect-only")
    auto.stdout.fnmatch_lines(["kdbgtest: KUBECONFIG is set (/somewhere/config) but not used: *"])
