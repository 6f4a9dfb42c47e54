"""The `kdbgtest` command, black-box: `python -m kdbgtest.cli ...` in a child process, exit codes and output.

`run` goes through the real provider selection (`--cluster kubeconfig`), the real engine and the real
reporters, against the recording fake kubectl (tests/data/fake_kubectl.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
BAD_REGEX = DATA / "scenarios" / "bad" / "bad_regex.yaml"
DISCOVERY = {"/api/v1": {"resources": [{"name": "pods"}, {"name": "pods/ephemeralcontainers"}]}}


def kdbgtest(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "kdbgtest.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


def test_validate_good_scenarios_counts_them() -> None:
    done = kdbgtest("validate", DATA / "scenarios" / "good")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("scenario(s) valid")
    assert int(done.stdout.split()[0]) >= 5


def test_validate_prints_every_issue_one_line_each_and_exits_1() -> None:
    done = kdbgtest("validate", BAD_REGEX)
    assert done.returncode == 1
    expected = (BAD_REGEX.with_suffix(".expected")).read_text().splitlines()
    assert done.stdout.splitlines() == [f"{BAD_REGEX.parent}/{line}" for line in expected]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "3 issue(s) found"


def test_list_shows_modes_tags_and_locations_and_filters() -> None:
    done = kdbgtest("list", "scenarios")
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("ephemeral-named "))
    assert "modes=ephemeral" in line and "tags=ephemeral,interactive,smoke" in line
    assert line.endswith("scenarios/ephemeral/named-debugger.yaml:2")
    assert "by mode: copy " in done.stdout
    only_node = kdbgtest("list", "scenarios", "-k", "node and not profile and not rbac")
    names = [ln.split()[0] for ln in only_node.stdout.splitlines()[:-2] if ln.strip()]
    assert names == ["copy-same-node", "node-find-runaway", "node-host-namespaces", "node-leftover-pod"]
    assert only_node.stdout.splitlines()[-1].startswith("4 scenario(s); by mode: copy 1, node 3;")
    tagged = kdbgtest("list", "scenarios", "--tag", "smoke")
    assert [ln.split()[0] for ln in tagged.stdout.splitlines()[:-2] if ln.strip()] == [
        "ephemeral-auto-named",
        "ephemeral-named",
    ]


def test_list_with_a_broken_file_reports_it_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("name: ok\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n")
    (tmp_path / "broken.yaml").write_text("name: broken\nsteps:\n  - name: s\n    kubectl: {argz: [version]}\n")
    done = kdbgtest("list", tmp_path)
    assert done.returncode == 2
    assert done.stdout.splitlines()[0].startswith("ok ")
    assert done.stderr.startswith(f"{tmp_path}/broken.yaml:4:")
    assert "Traceback" not in done.stderr


def test_schema_is_json_schema() -> None:
    done = kdbgtest("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert "properties" in schema and "steps" in schema["properties"]


def test_usage_errors_exit_2() -> None:
    assert kdbgtest("run", "--cluster", "nowhere").returncode == 2
    assert kdbgtest("frobnicate").returncode == 2


def test_run_with_invalid_files_is_bad_input() -> None:
    done = kdbgtest("run", BAD_REGEX, "--cluster", "kubeconfig")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "kdbgtest: error: 3 issue(s) in scenario files; fix them (see `kdbgtest validate`)"
    )
    assert "Traceback" not in done.stderr


def test_missing_kubeconfig_is_one_line(tmp_path: Path) -> None:
    done = kdbgtest("run", "scenarios", "--kubeconfig", tmp_path / "nope", "--kubectl", sys.executable)
    assert done.returncode == 2
    assert done.stderr == (f"kdbgtest: error: kubeconfig {tmp_path / 'nope'} does not exist; pass --kubeconfig FILE\n")


SCENARIO = """
    name: demo
    tags: [smoke]
    fixtures:
      - fixture: sleeper
    steps:
      - name: image
        assert:
          object: pod/app
          checks: [{path: "spec.containers[0].image", equals: "IMAGE"}]
"""


def write(tmp_path: Path, image: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(textwrap.dedent(SCENARIO.replace("IMAGE", image)).lstrip())
    return path


def run_fake(tmp_path: Path, fake: FakeKubectl, scenario: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    return kdbgtest(
        "run", scenario, "--kubeconfig", kubeconfig, "--kubectl", fake.path, "--artifacts", tmp_path / "art",
        *extra, cwd=tmp_path,
    )  # fmt: skip


def test_run_passing_writes_reports_and_exits_0(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--junit", str(junit), "--json",
                    str(report))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "demo" in done.stdout
    suite = ET.parse(junit).getroot()
    assert suite.find(".//testcase").get("name") == "demo"  # type: ignore[union-attr]
    assert json.loads(report.read_text())
    assert any(c[-3:] == ["get", "--raw", "/api/v1"] for c in fake_kubectl.commands())


def test_run_failing_exits_1_and_keep_prints_removal(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "alpine:3"), "--keep")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'spec.containers[0].image = "busybox:1.36", expected "alpine:3"' in done.stdout
    namespace = next(k.split("|")[2] for k in fake_kubectl.objects() if "|Namespace|kdbg-demo-" in k)
    assert f"{fake_kubectl.path} --kubeconfig {tmp_path / 'kubeconfig'} delete namespace {namespace}" in done.stdout
    assert not any("delete" in c for c in fake_kubectl.commands())


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_during_run_cleans_up_records_it_and_exits_128_plus_it(
    tmp_path: Path, fake_kubectl: FakeKubectl, name: str, code: int
) -> None:
    rule = {"match": ["pod/app", "-o", "json"], "signal_parent": name, "delay": 10}
    fake_kubectl.configure(raw=DISCOVERY, rules=[rule])
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--junit", str(junit), "--json",
                    str(report))  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"kdbgtest: interrupted by {name}; cleaned up"
    assert not any("|Namespace|kdbg-demo-" in k for k in fake_kubectl.objects()), "namespace removed"
    assert any(c[:2] == ["delete", "namespace"] for c in fake_kubectl.commands())
    suite = ET.parse(junit).getroot()
    assert suite.get("errors") == "1", ET.tostring(suite, encoding="unicode")
    reason = "Ctrl-C" if name == "SIGINT" else name
    message = suite.find(".//testcase/error").get("message")  # type: ignore[union-attr]
    assert re.fullmatch(rf"demo\.yaml:\d+: interrupted by {reason}", message or ""), message  # where it stopped
    summary = json.loads(report.read_text())["summary"]
    assert (summary["interrupted"], summary["errors"]) == (name, 1)


def test_run_selecting_nothing_is_a_usage_error() -> None:
    done = kdbgtest("run", "scenarios", "-k", "no-such-scenario", "--cluster", "kubeconfig")
    assert done.returncode == 2
    assert done.stderr == (
        "kdbgtest: error: no scenario is selected; check the paths, -k and --tag (see `kdbgtest list`)\n"
    )


def test_fixtures_lists_the_catalogue() -> None:
    done = kdbgtest("fixtures")
    assert done.returncode == 0
    assert "crashloop\n  busybox container `app` that exits 1" in done.stdout
    assert "  ready when: pod crashloop is crashloop (timeout 120s)" in done.stdout
    assert "  params: name='app', image='busybox:1.36', script='sleep 3600'" in done.stdout
