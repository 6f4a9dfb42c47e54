"""The upgrade report's witness verdicts: a look that fails is tried again for a while; one that then works is
shown as late (not failed), one that never does as failed, in Markdown, HTML and JSON alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdbgtest.upgrade import report, witnesses
from kdbgtest.upgrade.model import Check, Step, Upgrade


def test_a_look_that_works_later_says_when_and_what_it_saw_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(witnesses, "RETRY_PAUSE", 0.01)
    answers = iter([(False, "pod does not exist"), (False, "pod does not exist"), (True, "exec-ok")])
    ok, detail, took = witnesses._until_ok(lambda: next(answers))
    assert ok and took is not None and took < 5
    assert detail.startswith("worked after ") and detail.endswith("at first: pod does not exist")


def test_a_look_that_never_works_fails_after_the_recovery_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(witnesses, "RETRY_PAUSE", 0.01)
    monkeypatch.setattr(witnesses, "RECOVERY", 0.1)
    tries = []

    def look() -> tuple[bool, str]:
        tries.append(1)
        return False, "unable to upgrade connection"

    assert witnesses._until_ok(look) == (False, "unable to upgrade connection (still failing after 0.1s)", None)
    assert len(tries) > 2


def test_late_and_failed_checks_in_every_format(tmp_path: Path) -> None:
    result = Upgrade("local", "v1.36.3", "v1.37.2", drain=False, seconds=12.0)
    result.steps.append(Step("kubelet", "v1.36.3", "v1.37.2", 3.0))
    result.versions["after kubelet"] = {"kubelet": "v1.37.2"}
    result.checks += [
        Check("after kubelet", "crashloop", "exec", True, "worked after 4.0s; at first: pod does not exist",
              "witnesses/crashloop.log", 4.0),
        Check("after kubelet", "crashloop", "attach", False, "unable to upgrade connection", "witnesses/crashloop.log"),
        Check("after kubelet", "distroless", "exec", True, "exec-ok", "witnesses/distroless.log"),
    ]  # fmt: skip
    assert result.exit_code == 1  # a failed witness check fails the upgrade run; a late one alone would not
    written = report.write(result, {}, tmp_path)
    assert [p.name for p in written] == ["upgrade.md", "upgrade.json", "upgrade.html"]
    markdown = (tmp_path / "upgrade.md").read_text()
    assert "**1 failed check(s)** of 3, 1 worked only after a retry" in markdown
    assert "[❌ attach ⚠️ exec 4s](witnesses/crashloop.log)" in markdown
    assert "## Witness checks that worked only after a retry (1)" in markdown
    html = (tmp_path / "upgrade.html").read_text()
    assert '<td class="broken"' in html and "⚠️ exec: worked after 4.0s" in html
    data = json.loads((tmp_path / "upgrade.json").read_text())
    assert [(c["check"], c["ok"], c["recovered"]) for c in data["checks"]] == [
        ("exec", True, 4.0),
        ("attach", False, None),
        ("exec", True, None),
    ]
    result.checks.pop(1)
    assert result.exit_code == 0


def test_markup_in_a_witness_detail_or_step_error_stays_text(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    result = Upgrade("local", "v1.36.3", "v1.37.2", drain=False, seconds=1.0, error=evil)
    result.steps.append(Step("kubelet", "v1.36.3", "", 1.0, error=evil))
    result.checks.append(Check("after kubelet", "crashloop", "exec", False, evil, 'witnesses/a"b.log'))
    report.write(result, {}, tmp_path)
    html = (tmp_path / "upgrade.html").read_text()
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5  # headline, step, cell title and reason, list
    assert 'href="witnesses/a&#34;b.log"' in html
