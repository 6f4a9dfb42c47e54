"""What a new author ran into (issue 11), with the fake kubectl: `expect` on apply steps, `${scenario_dir}`,
fixtures created without the last-applied annotation, `during`."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from kdbg_fakes import FakeKubectl, Runner

from kdbgtest.base import waiting

NS = "kdbg-demo-r1"
REFUSED = 'Error from server (AlreadyExists): error when creating "STDIN": pods "app" already exists\n'
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec: {containers: [{name: c, image: busybox}]}\n"


def _refuse_creations(fake: FakeKubectl) -> None:
    """Every `kubectl -n NS create` (not the namespace's own, which has no -n) fails as the server would."""
    fake.configure(rules=[{"match": ["-n", "create"], "exit": 1, "stderr": REFUSED}])


def test_an_apply_step_can_expect_a_refusal(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    _refuse_creations(fake_kubectl)
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: create-twice
            apply: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: app}, spec: {}}}
            expect:
              exit_code: 1
              stderr: {contains: already exists, regex: 'pods "(?P<pod>[a-z]+)"'}
          - name: uses-capture
            kubectl: {args: [get, "pod/${pod}", --ignore-not-found]}
        """
    )
    assert result.verdict == "passed", result.message
    assert any(c[-3:] == ["get", "pod/app", "--ignore-not-found"] for c in fake_kubectl.commands())


def test_an_apply_step_checks_its_expect_and_fails_when_it_does_not_hold(
    run_scenario: Runner, fake_kubectl: FakeKubectl
) -> None:
    _refuse_creations(fake_kubectl)
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: no-expect
            apply: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: app}, spec: {}}}
        """
    )
    assert (result.verdict, result.failed_step) == ("failed", "no-expect")
    assert "exit code 1, expected 0" in result.message and "already exists" in result.message
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: wrong-reason
            apply: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: app}, spec: {}}}
            expect: {exit_code: 1, stderr: {contains: forbidden}}
        """
    )
    assert (result.verdict, result.failed_step) == ("failed", "wrong-reason")
    assert "stderr does not contain 'forbidden'" in result.message


def test_an_expected_failure_of_a_successful_create_fails(run_scenario: Runner) -> None:
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: expects-refusal
            apply: {fixture: sleeper, wait: false}
            expect: {exit_code: 1}
        """
    )
    assert (result.verdict, result.failed_step) == ("failed", "expects-refusal")
    assert "exit code 0, expected 1" in result.message


def test_fixtures_and_apply_steps_are_created_not_applied(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    result, _ = run_scenario(
        """
        name: demo
        fixtures:
          - fixture: sleeper
        steps:
          - name: more
            apply: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: other}, spec: {}}, wait: false}
        """
    )
    assert result.verdict == "passed", result.message
    verbs = [c[2] for c in fake_kubectl.commands() if c[:2] == ["-n", NS] and c[2] in ("apply", "create")]
    assert verbs == ["create", "create"]


def test_scenario_dir_is_the_scenario_files_directory(
    run_scenario: Runner, fake_kubectl: FakeKubectl, tmp_path: Path
) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: from-file
            apply: {file: "${scenario_dir}/pod.yaml", wait: false}
          - name: by-hand
            kubectl: {args: [apply, -f, "${scenario_dir}/pod.yaml"]}
        """
    )
    assert result.verdict == "passed", result.message
    created = next(r for r in fake_kubectl.records() if r["argv"][-5:] == ["-n", NS, "create", "-f", "-"])
    assert yaml.safe_load(created["stdin"].split("---\n")[1])["metadata"]["name"] == "app"
    assert any(c[-3:] == ["apply", "-f", str(tmp_path.resolve() / "pod.yaml")] for c in fake_kubectl.commands())


def test_during_polls_for_the_whole_period_when_the_checks_hold(
    run_scenario: Runner, fake_kubectl: FakeKubectl
) -> None:
    started = time.monotonic()
    result, _ = run_scenario(
        """
        name: demo
        fixtures:
          - fixture: sleeper
        steps:
          - name: stays-running
            assert:
              object: pod/app
              during: 1.5
              checks: [{path: status.phase, equals: Running}]
        """
    )
    assert result.verdict == "passed", result.message
    assert time.monotonic() - started >= 1.5
    gets = [c for c in fake_kubectl.commands() if c[2:4] == ["get", "pod/app"]]
    assert len(gets) >= 4  # the fixture's wait, then polls from the start to the end of the period


def test_holds_for_stops_at_the_first_poll_that_fails() -> None:
    seen: list[float] = []

    def probe() -> tuple[bool, int]:
        seen.append(time.monotonic())
        return len(seen) < 3, len(seen)

    held, last, elapsed = waiting.holds_for(probe, period=30, interval=0.05)
    assert (held, last) == (False, 3)
    assert elapsed < 5


def test_holds_for_lasts_the_period_and_probes_at_its_end() -> None:
    calls: list[float] = []

    def probe() -> tuple[bool, None]:
        calls.append(time.monotonic())
        return True, None

    held, _, elapsed = waiting.holds_for(probe, period=0.6, interval=0.05, max_interval=0.2)
    assert held and elapsed >= 0.6
    assert calls[-1] - calls[0] >= 0.6 and len(calls) >= 4
