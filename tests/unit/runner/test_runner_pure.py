"""Pure parts of the runner: namespace names, requirements, -k selection, wait judgements."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest.base import ages
from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.runner import namespace, selection, waits
from kdbgtest.scenario import model

CLUSTER = ClusterInfo("sim", "kdbg", Path("/k"), None, "1.30", ("w1", "w2"), frozenset({"ephemeral-containers"}))


def test_namespace_name_keeps_run_id_and_fits_63() -> None:
    assert namespace.namespace_name("crashloop", "ab12cd34") == "kdbg-crashloop-ab12cd34"
    long = namespace.namespace_name("x" * 40 + "-" + "y" * 30, "ab12cd34")
    assert len(long) <= 63 and long.endswith("-ab12cd34") and long.startswith("kdbg-xxx")
    name = namespace.namespace_name("a-" * 30, "RUN_1")
    assert len(name) <= 63 and "--" not in name and name.endswith("-run-1")


def test_requirements_report_every_unmet_reason() -> None:
    requires = model.Requirements(
        kubernetes=">=1.31", capabilities=["ephemeral-containers", "sysadmin-profile"], nodes=3
    )
    assert selection.unmet(requires, CLUSTER) == (
        "needs Kubernetes >=1.31, the cluster runs 1.30; needs sysadmin-profile, which the sim cluster "
        "does not offer; needs 3 schedulable nodes, the cluster has 2"
    )
    assert selection.unmet(model.Requirements(kubernetes=">=1.30", nodes=2), CLUSTER) is None
    assert selection.unmet(model.Requirements(below="1.30"), CLUSTER) == (
        "runs only below Kubernetes 1.30, the cluster runs 1.30"
    )
    assert selection.unmet(model.Requirements(missing=["ephemeral-containers"]), CLUSTER) == (
        "runs only where ephemeral-containers is absent, and the cluster offers it"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("crash", True),
        ("crash and not node", True),
        ("node or copy", True),
        ("node", False),
        ("not (crash or copy)", False),
        ("CRASH", True),
        ("ephemeral and smoke", False),
        ("copy and smoke", True),
    ],
)
def test_keyword_expressions(expression: str, expected: bool) -> None:
    assert selection.matches(expression, ["crashloop-debug", "copy", "smoke"]) is expected


def test_keyword_expression_errors_are_sentences() -> None:
    with pytest.raises(selection.BadExpression, match="a '\\(' is not closed"):
        selection.matches("(a or b", ["a"])
    with pytest.raises(selection.BadExpression, match="unexpected 'and'; a word is missing before it"):
        selection.matches("and a", ["a"])


def pod(state: dict[str, object], restarts: int = 0, phase: str = "Pending") -> dict[str, object]:
    return {
        "spec": {"containers": [{"name": "app"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "app", "restartCount": restarts, "state": state}],
        },
    }


def wait(**kwargs: object) -> model.WaitAction:
    return model.WaitAction.model_validate({"pod": "crashloop", **kwargs})


def test_crashloop_judgement_and_last_seen_text() -> None:
    creating = pod({"waiting": {"reason": "ContainerCreating"}})
    seen = waits.judge_pod(creating, wait(**{"for": "crashloop", "restarts": 2}))
    assert seen == waits.Seen(False, "pod crashloop: container app waiting (ContainerCreating), restarts 0")
    backoff = pod({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=1)
    assert not waits.judge_pod(backoff, wait(**{"for": "crashloop", "restarts": 2})).done
    assert waits.judge_pod(
        pod({"waiting": {"reason": "CrashLoopBackOff"}}, 2), wait(**{"for": "crashloop", "restarts": 2})
    ).done


def test_running_terminated_waiting_deleted_and_ephemeral() -> None:
    running = pod({"running": {}}, phase="Running")
    assert waits.judge_pod(running, wait(**{"for": "running"})).done
    term = pod({"terminated": {"reason": "Error", "exitCode": 1}}, phase="Running")
    seen = waits.judge_pod(term, wait(**{"for": "terminated", "reason": "Completed"}))
    assert seen == waits.Seen(False, "pod crashloop: container app terminated (Error, exit 1), restarts 0")
    assert waits.judge_pod(term, wait(**{"for": "container-terminated"})).done
    assert waits.judge_pod(
        pod({"waiting": {"reason": "ImagePullBackOff"}}),
        wait(**{"for": "waiting", "reason": "ImagePullBackOff"}),
    ).done
    assert waits.judge_pod(None, wait(**{"for": "deleted"})) == waits.Seen(True, "pod crashloop not found")
    eph = {
        **running,
        "status": {
            **running["status"],
            "ephemeralContainerStatuses": [  # type: ignore[dict-item]
                {"name": "dbg", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
            ],
        },
    }
    seen = waits.judge_pod(eph, wait(**{"for": "container-running", "container": "dbg"}))
    assert seen == waits.Seen(False, "pod crashloop: container dbg waiting (PodInitializing), restarts 0")
    missing = waits.judge_pod(running, wait(**{"for": "container-running", "container": "nope"}))
    assert missing == waits.Seen(False, "pod crashloop: phase Running, container nope has no status yet")


def test_node_ready() -> None:
    node = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}}
    action = model.WaitAction.model_validate({"node": "w1", "for": "node-ready"})
    assert waits.judge_node(node, action) == waits.Seen(False, "node w1: Ready=False (KubeletNotReady)")
    assert waits.describe_target(action) == "node w1 to be node-ready"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172800), ("0", 0)])
def test_ages_read_as_seconds(text: str, seconds: float) -> None:
    assert ages.parse_age(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5", "1w", "-1h", ""])
def test_a_bad_age_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an age; write e\.g\. 90s, 30m, 1h or 2d"):
        ages.parse_age(text)
