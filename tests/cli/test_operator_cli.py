"""`coalition operator networks|plan|suspend|resume` on the demo (issue 18, point 6; docs/plans.md): the operator
lists the networks, sets a plan with a trial, is refused an unknown plan and a garbled date, suspends and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.common import console
from coalition.adapters.cli.main import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_the_operator_lists_sets_a_plan_suspends_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)
    db = ("--database-url", f"sqlite:///{tmp_path / 'demo.db'}")
    assert _run("demo", *db)[0] == 0
    code, output = _run("operator", "networks", "--json", *db)
    assert code == 0, output
    [demo] = json.loads(output)
    assert (demo["code"], demo["plan"], demo["max_members"], demo["suspended_at"]) == ("demo", "custom", None, None)
    members = demo["members"]
    code, output = _run("operator", "plan", "demo", "free", "--trial-ends", "2099-03-06", "--json", *db)
    assert code == 0, output
    [changed] = json.loads(output)
    assert (changed["plan"], changed["max_members"], changed["trial_ends_at"]) == (
        "free",
        50_000,
        "2099-03-06T00:00:00+00:00",
    )
    code, output = _run("operator", "plan", "demo", "start", "--trial-ends", "none", *db)
    assert code == 0 and f"{members:,} of 2,000" in output, output
    assert _run("operator", "plan", "demo", "gold", *db) == (
        2,
        "error (plan): a plan is one of free, start, business, large, custom\n",
    )
    code, output = _run("operator", "plan", "demo", "free", "--trial-ends", "next spring", *db)
    assert code == 2 and "error (trial_ends)" in output, output
    code, output = _run("operator", "suspend", "demo", "--json", *db)
    assert code == 0 and json.loads(output)[0]["suspended_at"] is not None, output
    code, output = _run("operator", "resume", "demo", "--json", *db)
    assert code == 0 and json.loads(output)[0]["suspended_at"] is None, output
